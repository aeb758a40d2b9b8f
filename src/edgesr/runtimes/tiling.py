"""Overlapping tiles: any image size through fixed-shape artifacts, within a memory bound.

The input is cut into tiles of one size whose cores cover the image; each tile reaches
``overlap`` pixels past its core (less at the image border, where the tile is shifted inwards).
Each output pixel is taken from the tile whose core holds it. When ``overlap`` covers the network's
receptive-field radius, every kept output pixel saw exactly what it sees in a full-frame run, so the
tiled result equals the full-frame one up to float error (images at least one tile large).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Run = Callable[[np.ndarray], np.ndarray]


def _starts(length: int, tile: int, core: int) -> list[int]:
    return list(range(0, length, core)) if length > tile else [0]


def tiled_run(run: Run, x: np.ndarray, tile: tuple[int, int], overlap: int, factor: int,
              pad: str = "edge") -> np.ndarray:
    """Run ``run`` (NCHW -> NCHW, output ``factor`` times larger) over tiles of ``tile`` (H, W).
    An image smaller than a tile is padded up to it with numpy's ``pad`` mode (a runner's ``pad``;
    the modes are measured in ``benchmarks/tile_padding.py``)."""
    n, c, h, w = x.shape
    th, tw = tile
    if 2 * overlap >= min(th, tw):
        raise ValueError(f"overlap {overlap} leaves no core in a {th}x{tw} tile")
    pad_h, pad_w = max(0, th - h), max(0, tw - w)
    if pad_h or pad_w:  # smaller than one tile: pad (the padded border is not bit-exact)
        x = np.pad(x, ((0, 0), (0, 0), (0, pad_h), (0, pad_w)), mode=pad)
    ph, pw = x.shape[2:]
    core_h, core_w = th - 2 * overlap, tw - 2 * overlap
    out = None
    for y0 in _starts(h, th, core_h):
        ys = min(max(0, y0 - overlap), ph - th)
        y1 = min(y0 + core_h, h) if h > th else h
        for x0 in _starts(w, tw, core_w):
            xs = min(max(0, x0 - overlap), pw - tw)
            x1 = min(x0 + core_w, w) if w > tw else w
            piece = run(x[:, :, ys:ys + th, xs:xs + tw])
            if out is None:
                out = np.empty((n, piece.shape[1], h * factor, w * factor), dtype=piece.dtype)
            out[:, :, y0 * factor:y1 * factor, x0 * factor:x1 * factor] = piece[
                :, :, (y0 - ys) * factor:(y1 - ys) * factor, (x0 - xs) * factor:(x1 - xs) * factor]
    return out

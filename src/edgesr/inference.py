"""From an LR uint8 image to an SR uint8 image around any runner.

* Pre-upsampling networks (VDSR family, bicubic) take the MATLAB-bicubic upscale of the uint8 LR
  image (uint8, as an app would compute it); post-upsampling networks take the LR image.
* Y networks see the Y channel (MATLAB ``rgb2ycbcr``) on [0, 1]; their colour image is their Y
  plus the bicubic-upscaled Cb and Cr. The Y used by metrics is the network's own Y, clamped and
  rounded to uint8, as the SR literature measures Y models.
* RGB networks see RGB on [0, 1]; metrics take Y from the rounded RGB output.
* Grayscale input: a Y network runs on it directly; an RGB network gets it on three channels and
  its output is averaged back to one. Either way a gray image is its own Y.

:func:`upscale` puts this pipeline on top of any runner (:mod:`edgesr.runtimes`), which only moves
tensors: large images go through it in pieces sized from the memory available (:func:`auto_tile`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np

from edgesr.data.color import rgb_to_ycbcr, to_uint8, to_y, ycbcr_to_rgb
from edgesr.data.degrade import check_scale
from edgesr.data.imresize import imresize
from edgesr.errors import ImageError, ModelError
from edgesr.models.registry import check_model_scale

if TYPE_CHECKING:
    from edgesr.models.registry import ModelSpec
    from edgesr.runtimes.base import Runner

Infer = Callable[[np.ndarray], np.ndarray]
Progress = Callable[[int, int], None]


class SRImage:
    """An SR image: ``image`` (uint8, HxW for gray input or HxWx3) and ``y``, the float64 Y the
    metrics use (a Y network's own rounded Y; otherwise the Y of ``image``), computed when read."""

    __slots__ = ("image", "_y")

    def __init__(self, image: np.ndarray, y: np.ndarray | None = None):
        self.image, self._y = image, y

    @property
    def y(self) -> np.ndarray:
        if self._y is not None:
            return np.asarray(self._y, dtype=np.float64)
        return self.image.astype(np.float64) if self.image.ndim == 2 else to_y(self.image)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.image.shape


def _check_lr(lr: np.ndarray) -> np.ndarray:
    lr = np.asarray(lr)
    if lr.dtype != np.uint8 or not (lr.ndim == 2 or (lr.ndim == 3 and lr.shape[2] == 3)):
        raise ImageError(f"expected a uint8 HxW or HxWx3 image, got {lr.dtype} {lr.shape}")
    return lr


def _nchw(a: np.ndarray) -> np.ndarray:
    a = a[..., None] if a.ndim == 2 else a
    return np.ascontiguousarray(a.transpose(2, 0, 1)[None], dtype=np.float32)


def _run(infer: Infer, x: np.ndarray, size: tuple[int, int], name: str) -> np.ndarray:
    out = infer(x / np.float32(255.0))
    if out.ndim != 4 or out.shape[0] != 1 or out.shape[2:] != size:
        raise ModelError(f"{name} returned shape {tuple(out.shape)}, expected 1 x C x {size[0]} x {size[1]}")
    return out[0].astype(np.float64) * 255.0  # C x H x W on 0-255


def super_resolve(lr: np.ndarray, scale: int, spec: ModelSpec, infer: Infer, *,
                  tile: tuple[int, int] | None = None, margin: int = 0,
                  progress: Callable[[int, int], None] | None = None, keep_y: bool = True) -> SRImage:
    """Upscale ``lr`` (uint8) by ``scale`` with the network behind ``infer`` (float32 NCHW on [0, 1]).

    ``tile`` (LR rows, columns) bounds memory: the image is cut into pieces of at most that size, each
    upscaled with ``margin`` LR pixels of context around it (cut away afterwards) and written
    straight into the uint8 output, so only the output and one piece are ever held. With a margin
    that covers the network's receptive field plus the bicubic kernel (:func:`tile_margin`), the
    result equals the whole-image one up to the network's float error. ``progress(done, total)`` is
    called after each piece. ``keep_y=False``: a Y network's own Y is not kept (``y`` then reads
    the output's Y; saves a byte per output pixel when only the image is wanted).
    """
    lr = _check_lr(lr)
    check_model_scale(spec, check_scale(scale))
    h, w = lr.shape[:2]
    if h < MIN_SIDE or w < MIN_SIDE:  # all border: zero padding would darken it (a 1x1 grey came out black)
        grown = np.pad(lr, ((0, max(0, MIN_SIDE - h)), (0, max(0, MIN_SIDE - w))) + ((0, 0),) * (lr.ndim - 2),
                       mode="edge")
        sr = _super_resolve(grown, scale, spec, infer)
        return SRImage(sr.image[:h * scale, :w * scale], None if sr._y is None else sr._y[:h * scale, :w * scale])
    if tile is None or (h <= tile[0] and w <= tile[1]):
        return _super_resolve(lr, scale, spec, infer)
    out = np.empty((h * scale, w * scale, *lr.shape[2:]), dtype=np.uint8)
    y = np.empty((h * scale, w * scale), dtype=np.uint8) if keep_y and spec.colour == "y" and lr.ndim == 3 else None
    boxes = tile_boxes(h, w, tile)
    for done, (y0, y1, x0, x1) in enumerate(boxes, 1):
        ys, ye, xs, xe = max(0, y0 - margin), min(h, y1 + margin), max(0, x0 - margin), min(w, x1 + margin)
        piece = _super_resolve(lr[ys:ye, xs:xe], scale, spec, infer)
        keep = (slice((y0 - ys) * scale, (y1 - ys) * scale), slice((x0 - xs) * scale, (x1 - xs) * scale))
        dest = (slice(y0 * scale, y1 * scale), slice(x0 * scale, x1 * scale))
        out[dest] = piece.image[keep]
        if y is not None:
            y[dest] = piece._y[keep]
        if progress is not None:
            progress(done, len(boxes))
    return SRImage(out, y)


def tile_boxes(h: int, w: int, tile: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """(y0, y1, x0, x1) of pieces at most ``tile`` large, of near-equal size, covering an h x w image."""
    def cuts(length: int, size: int) -> list[int]:
        n = -(-length // max(1, size))
        return [round(i * length / n) for i in range(n + 1)]

    ys, xs = cuts(h, tile[0]), cuts(w, tile[1])
    return [(y0, y1, x0, x1) for y0, y1 in zip(ys, ys[1:]) for x0, x1 in zip(xs, xs[1:])]


MIN_SIDE = 16  # LR images narrower than this are edge-padded up to it for the run, then cropped back
BICUBIC_REACH = 3  # LR pixels a MATLAB-bicubic upscale reads past an output pixel (kernel radius 2, +1)


def tile_margin(spec: ModelSpec, scale: int, radius: int) -> int:
    """LR pixels of context a piece needs so that its kept part equals the whole-image result:
    the network's receptive ``radius`` (in network-input pixels) and the bicubic kernel's reach."""
    per_lr = scale if spec.upsampling == "pre" else 1
    return -(-radius // per_lr) + BICUBIC_REACH


def _super_resolve(lr: np.ndarray, scale: int, spec: ModelSpec, infer: Infer) -> SRImage:
    gray = lr.ndim == 2
    size = (lr.shape[0] * scale, lr.shape[1] * scale)
    bicubic = imresize(lr, scale) if (spec.upsampling == "pre" or (spec.colour == "y" and not gray)) else None
    source = bicubic if spec.upsampling == "pre" else lr
    if spec.colour == "y":
        y_in = source if gray else rgb_to_ycbcr(source)[..., 0]
        y = to_uint8(_run(infer, _nchw(y_in), size, spec.name)[0])
        if gray:
            return SRImage(y)
        ycbcr = rgb_to_ycbcr(bicubic)
        del bicubic
        ycbcr[..., 0] = y
        return SRImage(to_uint8(ycbcr_to_rgb(ycbcr)), y)
    rgb_in = np.repeat(source[..., None], 3, axis=2) if gray else source
    out = _run(infer, _nchw(rgb_in), size, spec.name)
    if gray:
        return SRImage(to_uint8(out.mean(axis=0)))
    return SRImage(to_uint8(out.transpose(1, 2, 0)))


def upscale(runner: Runner, lr: np.ndarray, progress: Progress | None = None, keep_y: bool = True) -> SRImage:
    """Upscale one LR uint8 image (``HxW`` or ``HxWx3``) by ``runner.scale`` through ``runner`` (active).

    An image larger than the runner's ``image_tile`` (or than what fits in memory, when none was asked
    for: :func:`auto_tile`) is done piece by piece, with ``progress(done, total)`` after each.
    ``keep_y=False``: the image only (see :func:`super_resolve`)."""
    lr = np.asarray(lr)
    tile = runner.image_tile or auto_tile(runner, lr.shape[:2])
    margin = tile_margin(runner.spec, runner.scale, runner.receptive_radius()) if tile else 0
    return super_resolve(lr, runner.scale, runner.spec, lambda x: runner.run(x, tiled=False), tile=tile,
                         margin=margin, progress=progress, keep_y=keep_y)


# bytes per output pixel the pipeline holds besides the network (float64 colour planes)
PIPELINE_BYTES_PER_PIXEL = 100
PIECE_SIDES = (2048, 1536, 1024, 768, 512, 384, 256, 192, 128, 96, 64)


def auto_tile(runner: Runner, lr_size: tuple[int, int]) -> tuple[int, int] | None:
    """The piece size (LR pixels) for an image of ``lr_size`` through ``runner``, or None for the
    whole image.

    With the runner's ``memory_budget``: the whole image if its run fits in it, else the largest square
    piece whose run does. Without one: the whole image if it fits in half the memory available now,
    else the largest piece that fits in a quarter of it (unknown memory: the whole image). A runner
    with ``auto_tiling`` False takes whole images."""
    from edgesr.runtimes.base import available_memory

    if not runner.auto_tiling:
        return None
    budget = runner.memory_budget
    if budget is None:
        free = available_memory()
        if free is None or piece_bytes(runner, lr_size) <= free / 2:
            return None
        budget = free / 4
    elif piece_bytes(runner, lr_size) <= budget:
        return None
    margin = tile_margin(runner.spec, runner.scale, runner.receptive_radius())
    for side in PIECE_SIDES:
        if piece_bytes(runner, (side + 2 * margin,) * 2) <= budget:
            return side, side
    return PIECE_SIDES[-1], PIECE_SIDES[-1]


def piece_bytes(runner: Runner, lr_size: tuple[int, int]) -> float:
    """Estimated bytes to upscale an LR image of ``lr_size`` through ``runner`` in one piece."""
    net_pixels = runner.network_pixels(lr_size)
    if runner.tile is not None and runner.fixed_shape:
        net_pixels = min(net_pixels, runner.tile[0] * runner.tile[1])
    return ((runner.bytes_per_pixel or 0) * net_pixels
            + PIPELINE_BYTES_PER_PIXEL * lr_size[0] * lr_size[1] * runner.scale ** 2)


def torch_upscaler(model, device: str | None = None) -> Callable[[np.ndarray, int], SRImage]:
    """An ``upscale(lr, scale) -> SRImage`` function around a PyTorch model from ``create_model``."""
    from edgesr.runtimes.torch import TorchRunner

    runners: dict[int, TorchRunner] = {}  # one per scale: building one profiles the model

    def upscale_at(lr: np.ndarray, scale: int) -> SRImage:
        if scale not in runners:
            runners[scale] = TorchRunner(model, scale, device=device)
        with runners[scale] as runner:
            return upscale(runner, lr)

    return upscale_at

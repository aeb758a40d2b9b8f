"""MATLAB-compatible ``imresize`` (bicubic), bit-exact on uint8 images.

What MATLAB's ``imresize(A, scale)`` does with the default ``'bicubic'`` method, step by step:

* cubic kernel with a = -0.5, support 4; when shrinking, the kernel is stretched by ``1/scale``
  (antialiasing) and scaled by ``scale``;
* output coordinate ``x`` (1-based) maps to input ``u = x / scale + 0.5 * (1 - 1 / scale)``;
* weights are normalised to sum to one per output sample; samples outside the image are taken
  from its mirror image (symmetric extension, the edge pixel repeated);
* one dimension after the other, the one with the smaller scale first (rows first on a tie);
* for uint8 input each pass is accumulated in float64 and rounded (half away from zero) and
  saturated to uint8 before the next pass.

Float input is resized in float64 without any rounding.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from edgesr.errors import ScaleError

_KERNEL_WIDTH = 4.0


def _cubic(x: np.ndarray) -> np.ndarray:
    absx = np.abs(x)
    absx2 = absx * absx
    absx3 = absx2 * absx
    inner = (1.5 * absx3 - 2.5 * absx2 + 1.0) * (absx <= 1)
    outer = (-0.5 * absx3 + 2.5 * absx2 - 4.0 * absx + 2.0) * ((absx > 1) & (absx <= 2))
    return inner + outer


@lru_cache(maxsize=256)
def contributions(
    in_length: int, out_length: int, scale: float, antialiasing: bool = True,
    boundary: str = "symmetric",
) -> tuple[np.ndarray, np.ndarray]:
    """Weights and 0-based source indices, each ``(out_length, taps)``, as MATLAB computes them."""
    kernel_width = _KERNEL_WIDTH
    shrink = scale < 1 and antialiasing
    if shrink:
        kernel_width = kernel_width / scale
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = np.floor(u - kernel_width / 2)
    taps = int(math.ceil(kernel_width)) + 2
    ind = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    dist = u[:, None] - ind
    weights = scale * _cubic(scale * dist) if shrink else _cubic(dist)
    weights = weights / weights.sum(axis=1, keepdims=True)
    if boundary == "symmetric":
        mirror = np.concatenate([np.arange(in_length), np.arange(in_length)[::-1]])
        indices = mirror[np.mod(ind.astype(np.int64) - 1, mirror.size)]
    else:  # "replicate", the edge handling of MATLAB releases before R2015
        indices = np.clip(ind.astype(np.int64) - 1, 0, in_length - 1)
    keep = np.any(weights != 0, axis=0)
    weights, indices = weights[:, keep], indices[:, keep]
    weights.flags.writeable = False
    indices.flags.writeable = False
    return weights, indices


def _resize_axis(a: np.ndarray, axis: int, out_length: int, scale: float, antialiasing: bool,
                 boundary: str) -> np.ndarray:
    weights, indices = contributions(a.shape[axis], out_length, scale, antialiasing, boundary)
    # Gather whole rows: put the resized axis first, contiguous, so each tap is one row copy.
    src = np.ascontiguousarray(np.moveaxis(a, axis, 0), dtype=np.float64)
    out = np.zeros((out_length,) + src.shape[1:], dtype=np.float64)
    term = np.empty_like(out)
    expand = (slice(None),) + (None,) * (src.ndim - 1)
    for k in range(weights.shape[1]):  # accumulate tap by tap, in MATLAB's order
        np.take(src, indices[:, k], axis=0, out=term)
        term *= weights[:, k][expand]
        out += term
    return np.moveaxis(out, 0, axis)


def _round_uint8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(a + 0.5), 0, 255).astype(np.uint8)


def output_size(in_size: tuple[int, int], scale: float) -> tuple[int, int]:
    """MATLAB's ``ceil(scale * size)``, immune to the last bit of ``1/3``-style scales."""
    return tuple(int(math.ceil(n * scale - 1e-9)) for n in in_size)  # type: ignore[return-value]


def imresize(
    image: np.ndarray,
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    antialiasing: bool = True,
    boundary: str = "symmetric",
) -> np.ndarray:
    """Resize an ``HxW`` or ``HxWxC`` image like MATLAB's ``imresize(image, scale, 'bicubic')``.

    Give either ``scale`` (e.g. ``1/4`` to shrink by four, ``3`` to enlarge by three) or
    ``size=(height, width)``. uint8 in gives uint8 out, bit-exact with MATLAB; float in gives
    float64 out. ``boundary="replicate"`` reproduces older MATLAB releases, which repeated the
    edge pixel instead of mirroring the image (this changes only pixels near the border).
    """
    if boundary not in ("symmetric", "replicate"):
        raise ScaleError(f"boundary must be 'symmetric' or 'replicate', got {boundary!r}")
    if (scale is None) == (size is None):
        raise ScaleError("imresize needs exactly one of scale or size")
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ScaleError(f"imresize takes an HxW or HxWxC image, got shape {image.shape}")
    in_size = image.shape[:2]
    if size is None:
        if not scale or scale <= 0 or not math.isfinite(scale):
            raise ScaleError(f"scale must be a positive number, got {scale}")
        size = output_size(in_size, scale)
        scales = (float(scale), float(scale))
    else:
        if min(size) < 1:
            raise ScaleError(f"output size must be at least 1x1, got {size}")
        scales = (size[0] / in_size[0], size[1] / in_size[1])
    if min(size) < 1:
        raise ScaleError(f"scale {scale} shrinks a {in_size[0]}x{in_size[1]} image to nothing")
    is_uint8 = image.dtype == np.uint8
    if not is_uint8 and not np.issubdtype(image.dtype, np.floating):
        raise ScaleError(f"imresize takes uint8 or float images, got {image.dtype}")
    order = (0, 1) if scales[0] <= scales[1] else (1, 0)
    out = image
    for axis in order:
        if out.shape[axis] == size[axis] and scales[axis] == 1:
            continue
        out = _resize_axis(out, axis, size[axis], scales[axis], antialiasing, boundary)
        if is_uint8:
            out = _round_uint8(out)
    if is_uint8:
        return out.astype(np.uint8, copy=False)
    return out.astype(np.float64, copy=False)

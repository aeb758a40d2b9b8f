"""From an LR uint8 image to an SR uint8 image around any runner.

* Pre-upsampling networks (VDSR family, bicubic) take the MATLAB-bicubic upscale of the uint8 LR
  image (uint8, as an app would compute it); post-upsampling networks take the LR image.
* Y networks see the Y channel (MATLAB ``rgb2ycbcr``) on [0, 1]; their colour image is their Y
  plus the bicubic-upscaled Cb and Cr. The Y used by metrics is the network's own Y, clamped and
  rounded to uint8, as the SR literature measures Y models.
* RGB networks see RGB on [0, 1]; metrics take Y from the rounded RGB output.
* Grayscale input: a Y network runs on it directly; an RGB network gets it on three channels and
  its output is averaged back to one. Either way a gray image is its own Y.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from edgesr.data.color import rgb_to_ycbcr, to_uint8, to_y, ycbcr_to_rgb
from edgesr.data.degrade import check_scale
from edgesr.data.imresize import imresize
from edgesr.errors import ImageError, ModelError
from edgesr.models.registry import ModelSpec, check_model_scale

Infer = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class SRImage:
    image: np.ndarray  # uint8, HxW (gray input) or HxWx3
    y: np.ndarray  # float64 Y the metrics use

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


def super_resolve(lr: np.ndarray, scale: int, spec: ModelSpec, infer: Infer) -> SRImage:
    """Upscale ``lr`` (uint8) by ``scale`` with the network behind ``infer`` (float32 NCHW on [0, 1])."""
    lr = _check_lr(lr)
    check_model_scale(spec, check_scale(scale))
    gray = lr.ndim == 2
    size = (lr.shape[0] * scale, lr.shape[1] * scale)
    bicubic = imresize(lr, scale) if (spec.upsampling == "pre" or (spec.colour == "y" and not gray)) else None
    source = bicubic if spec.upsampling == "pre" else lr
    if spec.colour == "y":
        y_in = source if gray else rgb_to_ycbcr(source)[..., 0]
        y = to_uint8(_run(infer, _nchw(y_in), size, spec.name)[0])
        if gray:
            return SRImage(y, y.astype(np.float64))
        ycbcr = rgb_to_ycbcr(bicubic)
        ycbcr[..., 0] = y
        return SRImage(to_uint8(ycbcr_to_rgb(ycbcr)), y.astype(np.float64))
    rgb_in = np.repeat(source[..., None], 3, axis=2) if gray else source
    out = _run(infer, _nchw(rgb_in), size, spec.name)
    if gray:
        g = to_uint8(out.mean(axis=0))
        return SRImage(g, g.astype(np.float64))
    rgb = to_uint8(out.transpose(1, 2, 0))
    return SRImage(rgb, to_y(rgb))


def torch_upscaler(model, device: str | None = None) -> Callable[[np.ndarray, int], SRImage]:
    """An ``upscale(lr, scale) -> SRImage`` function around a PyTorch model from ``create_model``."""
    from edgesr.runtimes.torch import TorchRunner

    runners: dict[int, TorchRunner] = {}  # one per scale: building one profiles the model

    def upscale(lr: np.ndarray, scale: int) -> SRImage:
        if scale not in runners:
            runners[scale] = TorchRunner(model, scale, device=device)
        with runners[scale] as runner:
            return runner.infer(lr)

    return upscale

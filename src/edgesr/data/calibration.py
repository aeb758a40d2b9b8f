"""Calibration inputs for INT8: crops of real training images, preprocessed as at inference."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from edgesr.data.color import rgb_to_ycbcr
from edgesr.data.datasets import find_images
from edgesr.data.degrade import degrade
from edgesr.data.imresize import imresize
from edgesr.data.io import read_image

if TYPE_CHECKING:
    from torch import nn

DEFAULT_CALIBRATION_SET = "T91"


def _crop(img: np.ndarray, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    if img.shape[0] < h or img.shape[1] < w:  # mirror-pad images smaller than the input
        img = np.pad(img, ((0, max(0, h - img.shape[0])), (0, max(0, w - img.shape[1])), (0, 0)), mode="symmetric")
    y = int(rng.integers(0, img.shape[0] - h + 1))
    x = int(rng.integers(0, img.shape[1] - w + 1))
    return img[y:y + h, x:x + w]


def _network_input(model: nn.Module, lr: np.ndarray, scale: int) -> np.ndarray:
    """An LR uint8 image as the network's input: bicubic upscaled for pre-upsampling models, Y or RGB, [0, 1], NCHW."""
    spec = model.spec
    if spec.upsampling == "pre":
        lr = imresize(lr, scale)
    arr = rgb_to_ycbcr(lr)[..., :1] if spec.colour == "y" else lr.astype(np.float64)
    return np.ascontiguousarray((arr / 255.0).transpose(2, 0, 1)[None], dtype=np.float32)


def calibration_images(model: nn.Module, scale: int, images: str = DEFAULT_CALIBRATION_SET, count: int = 64,
                       data_root: str | None = None, seed: int = 0) -> list[np.ndarray]:
    """``count`` whole LR images (distinct while the set lasts) as network inputs: what edgesr's
    activation ranges are measured on (``edgesr.formats.ranges``). Whole images, not crops: with 8
    images the ranges then land within 0.03 dB of 64 images' on Set5 (masrn x2), where 8 random
    64x64 crops lost up to 0.11 dB more than 64 did."""
    rng = np.random.default_rng(seed)
    files = find_images(images, data_root).files
    order = [int(i) for i in rng.permutation(len(files))]
    out = []
    for i in range(count):
        img = read_image(files[order[i % len(order)]])
        img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img
        lr, _ = degrade(img, scale)
        out.append(_network_input(model, lr, scale))
    return out


def calibration_inputs(model: nn.Module, scale: int, images: str = DEFAULT_CALIBRATION_SET, count: int = 64,
                       lr_size: tuple[int, int] = (64, 64), data_root: str | None = None,
                       seed: int = 0) -> list[np.ndarray]:
    """``count`` network inputs (float32 ``1 x C x H x W``) for an LR input of ``lr_size``.

    Each is a random crop of the LR image (mod-crop + MATLAB bicubic) of a training image, bicubic
    upscaled for pre-upsampling models. When the LR images are smaller than the input (large fixed
    shapes), crops come from the images as they are: activation ranges depend on image content,
    not on its size.
    """
    rng = np.random.default_rng(seed)
    files = find_images(images, data_root).files
    h, w = lr_size
    out = []
    for i in range(count):
        img = read_image(files[int(rng.integers(0, len(files)))])
        img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img
        lr, _ = degrade(img, scale)
        source = lr if lr.shape[0] >= h and lr.shape[1] >= w else img
        out.append(_network_input(model, _crop(source, h, w, rng), scale))
    return out

"""The bicubic degradation of the SR literature: mod-crop, then MATLAB ``imresize(hr, 1/s)``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from edgesr._files import check_writable
from edgesr.data.batch import BatchResult, plan_outputs, run_batch
from edgesr.data.imresize import imresize
from edgesr.data.io import list_images, read_image, write_image
from edgesr.errors import DataError, ScaleError

MAX_SCALE = 8


def check_scale(scale: int) -> int:
    """An integer SR scale factor between 2 and 8, or :class:`ScaleError`."""
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or not 2 <= scale <= MAX_SCALE:
        raise ScaleError(f"scale must be an integer from 2 to {MAX_SCALE}, got {scale!r}")
    return int(scale)


def modcrop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crop right and bottom so both sides are multiples of ``scale``."""
    scale = check_scale(scale)
    h, w = image.shape[:2]
    if h < scale or w < scale:
        raise ScaleError(f"a {w}x{h} image is smaller than the scale {scale}")
    return image[: h - h % scale, : w - w % scale]


def degrade(hr: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    """``(lr, hr_cropped)``: the mod-cropped HR image and its MATLAB-bicubic LR image."""
    hr = modcrop(hr, scale)
    return imresize(hr, 1 / scale), hr


def degrade_folder(src: str | os.PathLike, dst: str | os.PathLike, scale: int,
                   report: Callable[[str], None] = lambda _: None) -> BatchResult:
    """Write the LR image of every HR image in ``src`` to ``dst`` as PNG (same stem); a bad image
    is reported and skipped (see :mod:`edgesr.data.batch`)."""
    scale = check_scale(scale)
    src, dst = Path(src), Path(dst)
    if not src.is_dir():
        raise DataError(f"{src} is not a folder of images")
    files = list_images(src)
    if not files:
        raise DataError(f"{src} holds no images (png, jpg, bmp, ...)")
    pairs = plan_outputs(files, dst)
    check_writable(dst)
    return run_batch(pairs, lambda f, out: write_image(out, degrade(read_image(f), scale)[0]), report)

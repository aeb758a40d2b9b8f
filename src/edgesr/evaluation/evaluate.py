"""A benchmark set through one upscaler: PSNR and SSIM per image and their means."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from edgesr.data.color import to_y
from edgesr.data.datasets import ImageSet
from edgesr.data.degrade import check_scale, degrade
from edgesr.data.io import read_image
from edgesr.evaluation.metrics import psnr_y, shave_pair, ssim_y
from edgesr.inference import SRImage

Upscaler = Callable[[np.ndarray, int], SRImage]


@dataclass(frozen=True)
class ImageScore:
    name: str
    psnr: float
    ssim: float


@dataclass(frozen=True)
class EvalResult:
    model: str
    dataset: str
    scale: int
    images: tuple[ImageScore, ...]

    @property
    def psnr(self) -> float:
        return float(np.mean([i.psnr for i in self.images]))

    @property
    def ssim(self) -> float:
        return float(np.mean([i.ssim for i in self.images]))

    def to_dict(self) -> dict:
        return {
            "model": self.model, "dataset": self.dataset, "scale": self.scale,
            "psnr": self.psnr, "ssim": self.ssim,
            "images": [{"name": i.name, "psnr": i.psnr, "ssim": i.ssim} for i in self.images],
        }

    def to_json(self) -> str:
        """The means and per-image scores as JSON text (an exact reconstruction's infinite PSNR as
        null: JSON has no infinity)."""
        from edgesr._values import strict_json

        return strict_json(self.to_dict())

    def write_json(self, path: str | os.PathLike) -> Path:
        from edgesr._files import write_text

        return write_text(path, self.to_json())


def score_image(sr: SRImage, hr: np.ndarray, scale: int) -> tuple[float, float]:
    """PSNR and SSIM of one SR image against its (mod-cropped) HR image, shave = scale."""
    y_sr, y_hr = shave_pair(sr.y, to_y(hr), scale)
    return psnr_y(y_sr, y_hr), ssim_y(y_sr, y_hr)


def iter_scores(upscale: Upscaler, images: ImageSet, scale: int) -> Iterator[ImageScore]:
    scale = check_scale(scale)
    for path in images.files:
        lr, hr = degrade(read_image(path), scale)
        p, s = score_image(upscale(lr, scale), hr, scale)
        yield ImageScore(path.stem, p, s)


def evaluate(upscale: Upscaler, images: ImageSet, scale: int, model: str = "",
             progress: Callable[[ImageScore], None] | None = None) -> EvalResult:
    """Degrade every HR image of ``images`` (mod-crop + MATLAB bicubic), upscale it back, score it."""
    scores = []
    for score in iter_scores(upscale, images, scale):
        scores.append(score)
        if progress is not None:
            progress(score)
    return EvalResult(model, images.name, scale, tuple(scores))

"""How close one upscaler's output is to another's (a converted or quantized model against its
source), on the LR images of a benchmark set: PSNR/SSIM on Y with the reference output as "HR"
(``compare_upscalers``), or the largest pixel difference and PSNR between the two outputs
(``compare_outputs``, what ``edgesr compare`` prints)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from edgesr.data.datasets import ImageSet
from edgesr.data.degrade import check_scale, degrade
from edgesr.data.io import read_image
from edgesr.evaluation.evaluate import EvalResult, ImageScore, Upscaler, score_image
from edgesr.evaluation.metrics import psnr_y, shave_pair, ssim_y


def compare_upscalers(candidate: Upscaler, reference: Upscaler, images: ImageSet, scale: int,
                      name: str = "") -> EvalResult:
    """Score ``candidate``'s output against ``reference``'s on every image (shave = scale)."""
    return compare_with_truth(candidate, reference, images, scale, name)[0]


def compare_with_truth(candidate: Upscaler, reference: Upscaler, images: ImageSet, scale: int,
                       name: str = "", baseline: Upscaler | None = None) -> tuple[EvalResult, float]:
    """``compare_upscalers``'s result, and the candidate's dPSNR against the HR images: its PSNR on
    the set minus the reference's, or ``baseline``'s when given (negative when it is worse)."""
    scale = check_scale(scale)
    scores, delta = [], 0.0
    for path in images.files:
        lr, hr = degrade(read_image(path), scale)
        out_c, out_r = candidate(lr, scale), reference(lr, scale)
        y_c, y_r = shave_pair(out_c.y, out_r.y, scale)
        scores.append(ImageScore(path.stem, psnr_y(y_c, y_r), ssim_y(y_c, y_r)))
        out_b = baseline(lr, scale) if baseline is not None else out_r
        delta += score_image(out_c, hr, scale)[0] - score_image(out_b, hr, scale)[0]
    return EvalResult(name, images.name, scale, tuple(scores)), delta / max(1, len(scores))


@dataclass(frozen=True)
class OutputDiff:
    """One image: the largest absolute difference of the two outputs (uint8 levels) and their PSNR (Y)."""

    name: str
    max_diff: int
    psnr: float


@dataclass(frozen=True)
class OutputComparison:
    labels: tuple[str, str]
    dataset: str
    scale: int
    images: tuple[OutputDiff, ...]

    @property
    def worst(self) -> int:
        """The largest absolute difference over every image (uint8 levels)."""
        return max((row.max_diff for row in self.images), default=0)


def compare_outputs(first: Upscaler, second: Upscaler, images: ImageSet, scale: int, labels: tuple[str, str] = ("", ""),
                    progress: Callable[[OutputDiff], None] | None = None) -> OutputComparison:
    """``first``'s and ``second``'s outputs on the LR image of every image of ``images``, compared."""
    scale = check_scale(scale)
    rows = []
    for path in images.files:
        lr, _ = degrade(read_image(path), scale)
        a, b = first(lr, scale), second(lr, scale)
        diff = int(np.abs(a.image.astype(np.int16) - b.image.astype(np.int16)).max())
        rows.append(OutputDiff(path.stem, diff, psnr_y(a.y, b.y)))
        if progress is not None:
            progress(rows[-1])
    return OutputComparison(tuple(labels), images.name, scale, tuple(rows))

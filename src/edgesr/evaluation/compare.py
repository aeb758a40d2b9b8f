"""How close one upscaler's output is to another's (a converted or quantized model against its
source), on the LR images of a benchmark set: PSNR/SSIM on Y with the reference output as "HR"."""

from __future__ import annotations

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

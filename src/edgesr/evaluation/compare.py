"""How close one upscaler's output is to another's (a converted or quantized model against its
source), on the LR images of a benchmark set: PSNR/SSIM on Y with the reference output as "HR"."""

from __future__ import annotations

from edgesr.data.datasets import ImageSet
from edgesr.data.degrade import check_scale, degrade
from edgesr.data.io import read_image
from edgesr.evaluation.evaluate import EvalResult, ImageScore, Upscaler
from edgesr.evaluation.metrics import psnr_y, shave_pair, ssim_y


def compare_upscalers(candidate: Upscaler, reference: Upscaler, images: ImageSet, scale: int,
                      name: str = "") -> EvalResult:
    """Score ``candidate``'s output against ``reference``'s on every image (shave = scale)."""
    scale = check_scale(scale)
    scores = []
    for path in images.files:
        lr, _ = degrade(read_image(path), scale)
        y_c, y_r = shave_pair(candidate(lr, scale).y, reference(lr, scale).y, scale)
        scores.append(ImageScore(path.stem, psnr_y(y_c, y_r), ssim_y(y_c, y_r)))
    return EvalResult(name, images.name, scale, tuple(scores))

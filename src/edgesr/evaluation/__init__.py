"""PSNR/SSIM with the SR literature's protocol, and whole-set evaluation."""

from edgesr.evaluation.evaluate import EvalResult, ImageScore, evaluate, score_image
from edgesr.evaluation.metrics import psnr, ssim

__all__ = ["EvalResult", "ImageScore", "evaluate", "psnr", "score_image", "ssim"]

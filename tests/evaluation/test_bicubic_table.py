"""Acceptance: the bicubic baseline reproduces the published table in all 12 cells.

This exercises the whole protocol: mod-crop, MATLAB imresize (uint8, both directions), Y channel,
shave, PSNR and SSIM. A wrong step moves PSNR by 0.1 dB or more.
"""

from concurrent.futures import ProcessPoolExecutor

import pytest

from edgesr.data.datasets import BENCHMARKS, find_images
from edgesr.evaluation.evaluate import evaluate
from edgesr.evaluation.published import published
from edgesr.inference import torch_upscaler
from edgesr.models.weights import load_model

CELLS = [(d, s) for d in BENCHMARKS for s in (2, 3, 4)]


def _cell(root: str, dataset: str, scale: int) -> tuple[float, float]:
    result = evaluate(torch_upscaler(load_model("bicubic")), find_images(dataset, root), scale)
    return result.psnr, result.ssim


@pytest.fixture(scope="module")
def table(data_root):
    with ProcessPoolExecutor(max_workers=2) as pool:
        futures = {cell: pool.submit(_cell, str(data_root), *cell) for cell in CELLS}
        return {cell: f.result() for cell, f in futures.items()}


@pytest.mark.slow
@pytest.mark.parametrize("dataset, scale", CELLS)
def test_bicubic_matches_published(table, dataset, scale):
    ours_psnr, ours_ssim = table[(dataset, scale)]
    pub_psnr, pub_ssim = published("bicubic", dataset, scale)
    assert abs(ours_psnr - pub_psnr) <= 0.02, f"PSNR {ours_psnr:.4f} vs published {pub_psnr}"
    assert abs(ours_ssim - pub_ssim) <= 0.001, f"SSIM {ours_ssim:.4f} vs published {pub_ssim}"

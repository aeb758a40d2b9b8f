"""The weights shipped in the package reproduce the scores stored beside them (Set5, every scale)."""

import json

import pytest

from edgesr.models.weights import PRETRAINED_DIR

SHIPPED = sorted(PRETRAINED_DIR.glob("*.json"))


@pytest.mark.slow
@pytest.mark.parametrize("info_path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scores_reproduce(info_path, data_root):
    from edgesr.data.datasets import find_images
    from edgesr.evaluation.evaluate import evaluate
    from edgesr.inference import torch_upscaler
    from edgesr.models.weights import load_model

    info = json.loads(info_path.read_text())
    assert (PRETRAINED_DIR / info["weights"]).is_file()
    images = find_images("Set5", str(data_root))
    for scale in info["scales"]:
        stored_psnr, stored_ssim = info["scores"]["Set5"][f"x{scale}"]
        # the file the scores are for (the float weights are also what no --weights loads; QAT ones are not)
        r = evaluate(torch_upscaler(load_model(info["model"], scale, PRETRAINED_DIR / info["weights"])), images, scale)
        assert r.psnr == pytest.approx(stored_psnr, abs=1e-3) and r.ssim == pytest.approx(stored_ssim, abs=1e-4)

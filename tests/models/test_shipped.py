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


def test_masrn_no_worse_than_masrn_v1():
    """The shipped masrn (nearest-neighbour image residual, every INT8 activation 8-bit) scores at
    least what the first shipped masrn (``masrn_v1``, loadable under that name) scored in FP32, on
    Set5 at every scale; the stored scores are the weights' own (``test_shipped_scores_reproduce``)."""
    new = json.loads((PRETRAINED_DIR / "masrn.json").read_text())["scores"]["Set5"]
    old = json.loads((PRETRAINED_DIR / "masrn_v1.json").read_text())["scores"]["Set5"]
    assert old["x2"][0] == 37.12 and old["x3"][0] == 33.1681 and old["x4"][0] == 30.9023
    for scale in ("x2", "x3", "x4"):
        assert new[scale][0] >= old[scale][0], (scale, new[scale][0], old[scale][0])


def test_masrn_v1_keeps_its_mosaic_residual():
    """``masrn_v1`` is the first masrn as it was trained: its image residual is the input repeated
    s*s times and pixel-shuffled (an RGB mosaic), masrn's the nearest-neighbour upsampled input."""
    import torch

    from edgesr.models import create_model

    x = torch.rand(1, 3, 5, 7)
    v1, new = create_model("masrn_v1"), create_model("masrn")
    _, mosaic = v1.branch(x, v1.trunk(x), 2)
    _, nearest = new.branch(x, new.trunk(x), 2)
    assert torch.equal(nearest, x.repeat_interleave(2, 2).repeat_interleave(2, 3))
    assert torch.equal(mosaic, torch.nn.functional.pixel_shuffle(x.repeat(1, 4, 1, 1), 2))
    assert not torch.equal(mosaic, nearest)

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


@pytest.mark.parametrize("info_path", SHIPPED, ids=lambda p: p.stem)
def test_every_shipped_file_says_what_it_holds(info_path):
    """Each shipped .safetensors carries the metadata ``edgesr train`` writes (model under the name it
    ships as, options, scales, colour, upsampling, multi-scale) and the scores it is published with,
    so that ``-w FILE`` needs no ``-m``, nor ``-s`` where the file holds one scale. Files shipped
    before (fsrcnn_x4, vdsr, asym_vdsr, masrn_v1) named only their model, masrn_v1 as ``masrn``,
    whose residual has changed since: ``-w masrn_v1.safetensors`` scored 26.12 dB on Set5 x2."""
    from edgesr.models.weights import read_metadata, stored_identity
    from edgesr.train.config import make_config
    from edgesr.train.trainer import build_model, trained_identity

    info = json.loads(info_path.read_text())
    path = PRETRAINED_DIR / info["weights"]
    cfg = make_config({**info["config"], "model": info["model"]})
    expected = trained_identity(build_model(cfg), cfg)
    meta = read_metadata(path)
    assert {k: meta.get(k) for k in expected} == expected
    assert json.loads(meta["published"])["scores"] == info["scores"]
    assert stored_identity(path)["scales"] == tuple(info["scales"])


@pytest.mark.parametrize("name, scale", [("fsrcnn_x4", None), ("masrn_v1", 2), ("vdsr", 3)])
def test_a_shipped_file_alone_names_its_model(name, scale, data_root):
    """``edgesr eval -w FILE`` with no ``-m`` (and no ``-s`` for a file of one scale) scores what the
    file is published with."""
    from click.testing import CliRunner

    from edgesr.cli import main

    info = json.loads((PRETRAINED_DIR / f"{name}.json").read_text())
    args = ["eval", "-w", str(PRETRAINED_DIR / info["weights"]), "-d", "Set5", "--data-root", str(data_root)]
    res = CliRunner().invoke(main, args + (["-s", str(scale)] if scale else []))
    assert res.exit_code == 0, res.output
    mean = float(res.output.split("mean")[-1].split()[0])
    assert mean == pytest.approx(info["scores"]["Set5"][f"x{scale or info['scales'][0]}"][0], abs=1e-3)

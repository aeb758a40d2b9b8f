"""Every weights file a run writes says what it holds: the model's reference and options, the
scales trained, colour, upsampling, multi-scale and the validation scores of those very weights;
``load_model`` rebuilds the trained network from the file alone."""

import json
import textwrap

import pytest
import torch

from edgesr.errors import ModelError
from edgesr.models import registry
from edgesr.models.weights import is_qat, load_model, read_metadata
from edgesr.train.config import make_config
from edgesr.train.trainer import CHECKPOINT, Trainer

NET = textwrap.dedent("""
    from torch import nn
    from edgesr.models import sr_model

    @sr_model(colour="y", upsampling="post", scales=(2, 3, 4))
    def tiny(channels=1, scale=2, width=4, depth=1):
        layers = [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
        for _ in range(depth):
            layers += [nn.Conv2d(width, width, 3, padding=1), nn.ReLU()]
        return nn.Sequential(*layers, nn.Conv2d(width, channels * scale * scale, 3, padding=1), nn.PixelShuffle(scale))
""")
BASE = {"train_sets": ["Set5"], "val_set": "Set5", "patch_size": 24, "batch_size": 2, "iterations": 4,
        "log_every": 2, "val_every": 4, "checkpoint_every": 2, "threads": 1}


@pytest.fixture(autouse=True)
def _clean_references(monkeypatch):
    monkeypatch.setattr(registry, "_REFERENCES", {})


def _fit(values: dict, data_root) -> Trainer:
    trainer = Trainer(make_config({**BASE, "data_root": str(data_root), **values}))
    trainer.fit(progress=False)
    return trainer


def test_file_model_with_options_reloads_from_its_weights_alone(tmp_path, monkeypatch, data_root):
    (tmp_path / "tiny_net.py").write_text(NET)
    monkeypatch.chdir(tmp_path)
    trainer = _fit({"model": "tiny_net.py:tiny", "scales": [3], "model_options": {"width": 6, "depth": 2},
                    "ema": 0.9, "out_dir": "run"}, data_root)
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    val = next(r for r in log if "val_psnr" in r)
    x = torch.rand(1, 1, 9, 11)
    with torch.no_grad():
        expected = trainer.averaged.eval()(x)
    for name in ("best.safetensors", "last.safetensors", CHECKPOINT):
        meta = read_metadata(tmp_path / "run" / name)
        assert meta["model"] == "tiny_net.py:tiny" and json.loads(meta["options"]) == {"width": 6, "depth": 2}
        assert (json.loads(meta["scales"]), meta["colour"], meta["upsampling"], meta["multi_scale"]) == (
            [3], "y", "post", "false")
        metrics = json.loads(meta["metrics"])
        assert metrics["val_set"] == "Set5" and metrics["iteration"] == 4 == int(meta["iteration"])
        assert metrics["scores"]["x3"]["psnr"] == pytest.approx(val["val_psnr"]["x3"], abs=1e-4)
        assert 0 < metrics["scores"]["x3"]["ssim"] < 1
        model = load_model("tiny_net.py:tiny", weights=tmp_path / "run" / name)  # no scale, no options
        assert model.spec.options == {"width": 6, "depth": 2} and model.spec.scales == (3,)
        with torch.no_grad():
            torch.testing.assert_close(model(x), expected, rtol=0, atol=1e-6)  # NHWC in training
        with pytest.raises(ModelError, match="names its model by code"):  # the file alone runs no code
            load_model(weights=tmp_path / "run" / name)


def test_intermediate_files_carry_no_scores_of_other_weights(tmp_path, data_root):
    """A checkpoint written between validations has no scores of its own: none are stored."""
    _fit({"model": "espcn", "scales": [2], "iterations": 6, "val_every": 3, "checkpoint_every": 2,
          "out_dir": str(tmp_path / "run")}, data_root)
    # last.safetensors was last written at iteration 6, just after validating: scored
    assert json.loads(read_metadata(tmp_path / "run" / "last.safetensors")["metrics"])["iteration"] == 6
    trainer = Trainer(make_config({**BASE, "model": "espcn", "scales": [2], "data_root": str(data_root),
                                   "out_dir": str(tmp_path / "b")}))
    trainer.iteration = 5
    trainer.metrics = {"iteration": 4, "val_set": "Set5", "scores": {}}
    assert "metrics" not in trainer._weights_metadata()


@pytest.mark.slow  # QAT calibration
def test_multi_scale_subset_round_trips(tmp_path, data_root):
    trainer = _fit({"model": "masrn", "scales": [2, 4], "iterations": 2, "val_every": 2,
                    "model_options": {"features": 8, "blocks": 1, "refine_features": 4},
                    "qat": {"calib_images": 2}, "out_dir": str(tmp_path / "run")}, data_root)
    path = tmp_path / "run" / "last.safetensors"
    metrics = json.loads(read_metadata(path)["metrics"])
    assert set(metrics["scores"]) == {"x2", "x4"} and metrics["simulated"] == "int8"
    assert is_qat(path)  # the QAT marker is kept
    model = load_model(weights=path)
    assert model.spec.scales == (2, 4) and set(model.upscale) == {"x2", "x4"}
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(model(x, 4), trainer.averaged.eval()(x, 4), rtol=0, atol=1e-6)

import pytest
import torch

from edgesr.errors import ModelError
from edgesr.models import create_model
from edgesr.models.weights import load_model, load_weights, save_weights


def test_roundtrip(tmp_path):
    a = create_model("espcn", scale=3)
    path = save_weights(a, tmp_path / "w.safetensors")
    b = load_weights(create_model("espcn", scale=3), path)
    for k, v in a.state_dict().items():
        torch.testing.assert_close(b.state_dict()[k], v)
    assert [p.name for p in tmp_path.iterdir()] == ["w.safetensors"]


def test_mismatch_is_explained(tmp_path):
    path = save_weights(create_model("espcn", scale=3), tmp_path / "w.safetensors")
    with pytest.raises(ModelError, match="does not fit model espcn.*another shape"):
        load_weights(create_model("espcn", scale=4), path)
    with pytest.raises(ModelError, match="missing"):
        load_weights(create_model("vdsr"), path)


def test_corrupt_or_missing_file(tmp_path):
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(ModelError, match="not a readable"):
        load_weights(create_model("vdsr"), tmp_path / "bad.safetensors")
    with pytest.raises(ModelError, match="does not exist"):
        load_weights(create_model("vdsr"), tmp_path / "none.safetensors")


def test_load_model_refuses_untrained(tmp_path, monkeypatch):
    import edgesr.models.weights
    monkeypatch.setattr(edgesr.models.weights, "PRETRAINED_DIR", tmp_path / "empty")
    assert load_model("bicubic", 2) is not None
    with pytest.raises(ModelError, match="no weights for asym_vdsr"):
        load_model("asym_vdsr", 2)
    path = save_weights(create_model("fsrcnn", scale=2), tmp_path / "f.safetensors")
    assert not load_model("fsrcnn", 2, path).training


def test_shipped_weights_are_found(tmp_path, monkeypatch):
    import edgesr.models.weights
    monkeypatch.setattr(edgesr.models.weights, "PRETRAINED_DIR", tmp_path)
    save_weights(create_model("espcn", scale=3), tmp_path / "espcn_x3.safetensors")
    save_weights(create_model("vdsr"), tmp_path / "vdsr.safetensors")
    assert load_model("espcn", 3) is not None and load_model("vdsr", 4) is not None
    with pytest.raises(ModelError, match="no weights for espcn"):
        load_model("espcn", 2)

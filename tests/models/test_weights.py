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


@pytest.mark.parametrize("bad", ["nan", "inf", "int32"])
def test_nan_inf_and_integer_tensors_are_refused(tmp_path, bad):
    """Such files load into the model without complaint and give black images: refused, naming the
    file and the tensor."""
    from safetensors.torch import save_file
    state = {k: v.clone() for k, v in create_model("espcn", scale=2).state_dict().items()}
    key = sorted(state)[0]
    if bad == "int32":
        state[key] = state[key].round().to(torch.int32)
        expected = rf"w\.safetensors: tensor {key} is int32, not floating point"
    else:
        state[key].view(-1)[:3] = float(bad)
        expected = rf"w\.safetensors: tensor {key} holds 3 {'NaN' if bad == 'nan' else 'infinite'} values"
    save_file(state, str(tmp_path / "w.safetensors"))
    with pytest.raises(ModelError, match=expected) as err:
        load_model("espcn", 2, tmp_path / "w.safetensors")
    assert "\n" not in str(err.value)


def test_shipped_weights_still_load():
    from edgesr.models.weights import PRETRAINED_DIR
    shipped = sorted(PRETRAINED_DIR.glob("*.safetensors"))
    assert shipped
    for path in shipped:
        name = path.stem.split("_qat")[0]
        scale = int(name.rsplit("_x", 1)[1]) if "_x" in name else None
        load_model(name.rsplit("_x", 1)[0] if scale else name, scale, path)

"""Parametrised over the registry: a newly registered model is tested the moment it exists."""

import pytest
import torch

from edgesr.errors import ModelError, ScaleError
from edgesr.models import create_model, get_spec, list_models
from edgesr.models.profile import count_parameters
from edgesr.models.registry import register_model

CASES = [(name, s) for name in list_models() for s in get_spec(name).scales]


def _run(model, x, scale):
    return model(x, scale) if model.spec.multi_scale else model(x)


@pytest.mark.parametrize("name, scale", CASES)
def test_output_shape_every_scale(name, scale):
    spec = get_spec(name)
    model = create_model(name, scale=scale).eval()
    h, w = 11, 14
    if spec.upsampling == "pre":
        x = torch.rand(2, spec.channels, h * scale, w * scale)
    else:
        x = torch.rand(2, spec.channels, h, w)
    with torch.no_grad():
        y = _run(model, x, scale)
    assert y.shape == (2, spec.channels, h * scale, w * scale)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", list_models())
def test_rgb_variant_builds(name):
    spec = get_spec(name)
    scale = spec.scales[-1]
    model = create_model(name, scale=scale, colour="rgb")
    n = 6 * scale if spec.upsampling == "pre" else 6
    with torch.no_grad():
        assert _run(model, torch.rand(1, 3, n, n), scale).shape == (1, 3, 6 * scale, 6 * scale)


def test_parameter_counts():
    assert count_parameters(create_model("vdsr")) == 665_921
    asym = count_parameters(create_model("asym_vdsr"))
    assert asym == 444_737
    assert 1 - asym / 665_921 == pytest.approx(0.332, abs=0.001)  # the paper says about 35% fewer
    assert count_parameters(create_model("bicubic")) == 0
    assert 10_000 < count_parameters(create_model("fsrcnn", scale=3)) < 14_000
    assert 20_000 < count_parameters(create_model("espcn", scale=3)) < 24_000
    masrn = create_model("masrn")
    assert count_parameters(masrn) < 400_000
    per_scale = [count_parameters(masrn, s) for s in (2, 3, 4)]
    assert per_scale == sorted(per_scale) and per_scale[-1] < count_parameters(masrn)


def test_masrn_shares_trunk_and_refuses_unknown_scale():
    masrn = create_model("masrn")
    assert set(masrn.upscale.keys()) == {"x2", "x3", "x4"}
    with pytest.raises(ScaleError, match="no head for x5"):
        masrn(torch.rand(1, 3, 8, 8), 5)
    only2 = create_model("masrn", scales=(2,))
    with pytest.raises(ScaleError, match="x3"):
        only2(torch.rand(1, 3, 8, 8), 3)


def test_unknown_model_lists_known():
    with pytest.raises(ModelError, match="unknown model 'edsr'; known models: .*vdsr.*masrn"):
        create_model("edsr")


def test_per_scale_models_need_a_scale():
    with pytest.raises(ModelError, match="pass scale="):
        create_model("fsrcnn")
    with pytest.raises(ScaleError, match="does not support x5"):
        create_model("espcn", scale=5)
    with pytest.raises(ModelError, match="bad options"):
        create_model("vdsr", no_such_option=1)
    with pytest.raises(ModelError, match="colour"):
        create_model("vdsr", colour="lab")


def test_duplicate_registration_refused():
    with pytest.raises(ValueError, match="twice"):
        register_model("vdsr", colour="y", upsampling="pre", scales=(2,))(lambda channels: None)

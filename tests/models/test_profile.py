import pytest

from edgesr.models import create_model
from edgesr.models.listing import model_rows, model_table
from edgesr.models.profile import count_macs


def test_vdsr_macs_by_hand():
    # 20 layers: 64*1*9 + 18*64*64*9 + 64*9 MACs per pixel, on the x2 upscaled 512x512 image
    per_pixel = 64 * 9 + 18 * 64 * 64 * 9 + 64 * 9
    assert count_macs(create_model("vdsr"), (256, 256), 2) == per_pixel * 512 * 512
    asym = 64 * 9 + 18 * 2 * 64 * 64 * 3 + 64 * 9
    assert count_macs(create_model("asym_vdsr"), (256, 256), 2) == asym * 512 * 512


def test_espcn_macs_by_hand():
    per_pixel = 1 * 64 * 25 + 64 * 32 * 9 + 32 * 9 * 9
    assert count_macs(create_model("espcn", scale=3), (10, 20), 3) == per_pixel * 200


def test_masrn_macs_grow_with_scale():
    m = create_model("masrn")
    macs = [count_macs(m, (64, 64), s) for s in (2, 3, 4)]
    assert macs == sorted(macs) and macs[0] > 0


def test_listing_has_every_model_and_scale():
    rows = model_rows((32, 32))
    assert {(r.name, r.scale) for r in rows} >= {("masrn", 2), ("masrn", 4), ("vdsr", 3), ("bicubic", 2)}
    table = model_table((32, 32))
    for word in ("asym_vdsr", "RGB", "Y", "bicubic x s"):
        assert word in table


@pytest.mark.parametrize("name", ["fsrcnn", "espcn"])
def test_per_scale_params_differ_only_in_head(name):
    rows = [r for r in model_rows((8, 8)) if r.name == name]
    assert len(rows) == 3

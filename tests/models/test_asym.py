import pytest
import torch
from torch import nn

from edgesr.models import asymmetrize, create_model, vdsr_to_asym
from edgesr.models.asym import AsymConv2d, asym_layers, default_width


def _low_rank_conv(in_c, out_c, k, rank, **kw):
    conv = nn.Conv2d(in_c, out_c, k, padding=k // 2, **kw)
    a = torch.randn(out_c * k, rank, dtype=torch.float64)
    b = torch.randn(rank, in_c * k, dtype=torch.float64)
    m = (a @ b).reshape(out_c, k, in_c, k).permute(0, 2, 3, 1)  # back to (out, in, row, col)
    with torch.no_grad():
        conv.weight.copy_(m.float())
    return conv


@pytest.mark.parametrize("k, stride", [(3, 1), (5, 1), (3, 2)])
def test_exact_when_rank_fits(k, stride):
    torch.manual_seed(0)
    conv = _low_rank_conv(6, 8, k, rank=4, stride=stride)
    pair = AsymConv2d.from_conv(conv, width=4)
    x = torch.randn(2, 6, 13, 11)
    torch.testing.assert_close(pair(x), conv(x), atol=1e-4, rtol=1e-4)  # borders included
    assert pair.relative_error < 1e-6


def test_svd_is_the_best_pair():
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 8, 3, padding=1)
    pair = AsymConv2d.from_conv(conv, width=4)
    w = conv.weight.detach().double()
    s = torch.linalg.svdvals(w.permute(0, 3, 1, 2).reshape(24, 24))
    assert pair.relative_error == pytest.approx(float((s[4:] ** 2).sum().sqrt() / (s**2).sum().sqrt()), rel=1e-6)
    # no random pair of the same width gets closer to the kernel
    composed = torch.einsum("omb,mia->oiab", pair.horizontal.weight[:, :, 0].detach().double(),
                            pair.vertical.weight[..., 0].detach().double())
    best = float((composed - w).norm() / w.norm())
    for _ in range(20):
        other = AsymConv2d(8, 8, 3, width=4)
        alt = torch.einsum("omb,mia->oiab", other.horizontal.weight[:, :, 0].detach().double(),
                           other.vertical.weight[..., 0].detach().double())
        assert float((alt - w).norm() / w.norm()) > best


def test_asymmetrize_converts_every_square_conv_only():
    model = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 1),
                          nn.Conv2d(16, 16, 3, padding=1, groups=2), nn.Conv2d(16, 3, 5, padding=2))
    out = asymmetrize(model)
    kinds = [type(m).__name__ for m in out]
    assert kinds == ["AsymConv2d", "ReLU", "Conv2d", "Conv2d", "AsymConv2d"]
    assert type(model[0]) is nn.Conv2d  # the original is untouched
    # the first layer (3 -> 16) has rank <= 9 and gets width 9: its pair is exact
    assert out[0].vertical.out_channels == 9 and out[0].relative_error < 1e-6
    x = torch.randn(1, 3, 10, 12)
    torch.testing.assert_close(out[0](x), model[0](x), atol=1e-5, rtol=1e-4)


@pytest.mark.slow
def test_vdsr_to_asym_gives_asym_vdsr_layout():
    vdsr = create_model("vdsr")
    converted = vdsr_to_asym(vdsr)
    assert len(asym_layers(converted)) == 18
    assert set(converted.state_dict()) == set(create_model("asym_vdsr").state_dict())
    shapes = {k: v.shape for k, v in create_model("asym_vdsr").state_dict().items()}
    assert {k: v.shape for k, v in converted.state_dict().items()} == shapes
    assert converted.spec.name == "vdsr"


def test_default_width():
    assert default_width(64, 64, 3) == 64  # the paper's Asym_VDSR
    assert default_width(1, 64, 3) == 3  # exact and cheaper than 64
    assert default_width(64, 1, 3) == 3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_asym_vdsr_starts_like_vdsr(seed):
    """At initialisation each asymmetric pair keeps the signal's scale as the 3x3 conv it stands for
    does: Asym_VDSR's residual is of VDSR's size, not 2^9 times it (ReLU's gain on both convs)."""
    x = torch.rand(2, 1, 48, 48)
    stds = {}
    for name in ("vdsr", "asym_vdsr"):
        torch.manual_seed(seed)
        with torch.no_grad():
            stds[name] = float((create_model(name).eval()(x) - x).std())
    assert 0.1 < stds["asym_vdsr"] / stds["vdsr"] < 10, stds

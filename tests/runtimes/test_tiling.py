import numpy as np
import pytest
import torch

from edgesr.models import create_model
from edgesr.runtimes.tiling import receptive_radius, tiled_run
from edgesr.runtimes.torch import TorchRunner


@pytest.mark.parametrize("name, scale, tile, kw", [("espcn", 3, (8, 4), {}), ("fsrcnn", 2, (8, 8), {}),
                                                   ("masrn", 4, (8, 12), {}), ("vdsr", 2, (14, 16), {"depth": 5})])
def test_tiled_equals_full_frame(name, scale, tile, kw):
    torch.manual_seed(0)
    model = create_model(name, scale=scale, **kw)
    factor = 1 if model.spec.upsampling == "pre" else scale
    h, w = (37, 53) if factor > 1 else (50, 62)
    x = np.random.default_rng(0).random((1, model.spec.channels, h, w), dtype=np.float32)
    with TorchRunner(model, scale) as full, TorchRunner(model, scale, tile=tile) as tiled:
        assert tiled.overlap > 0
        np.testing.assert_allclose(tiled.run(x), full.run(x), atol=2e-5)


def test_too_little_overlap_shows_seams():
    torch.manual_seed(0)
    model = create_model("espcn", scale=2)
    x = np.random.default_rng(0).random((1, 1, 40, 40), dtype=np.float32)
    with TorchRunner(model, 2) as full:
        ref = full.run(x)
        rough = tiled_run(full._run, x, (16, 16), overlap=1, factor=2)
    assert np.abs(rough - ref).max() > 1e-3


def test_receptive_radius_by_hand():
    conv = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 5, padding=2), torch.nn.ReLU(), torch.nn.Conv2d(2, 1, 3, padding=1))
    for layer in (conv[0], conv[2]):
        torch.nn.init.constant_(layer.weight, 0.1)
        torch.nn.init.zeros_(layer.bias)
    assert receptive_radius(conv, 1, 1) == 3


def test_overlap_must_leave_a_core():
    with pytest.raises(ValueError, match="no core"):
        tiled_run(lambda a: a, np.zeros((1, 1, 20, 20), np.float32), (8, 8), overlap=4, factor=1)


def test_small_image_is_padded():
    out = tiled_run(lambda a: a * 2, np.ones((1, 1, 5, 7), np.float32), (8, 8), overlap=2, factor=1)
    assert out.shape == (1, 1, 5, 7) and (out == 2).all()


@pytest.mark.parametrize("pad, seen", [("edge", [4, 4, 4]), ("symmetric", [4, 3, 2]), ("constant", [0, 0, 0]),
                                       ("reflect", [3, 2, 1])])
def test_small_image_padding_mode(pad, seen):
    """What the network sees past the border of an image smaller than a tile follows ``pad``."""
    tiles = []
    x = np.arange(5, dtype=np.float32).reshape(1, 1, 1, 5)
    out = tiled_run(lambda a: tiles.append(a) or a, x, (1, 8), overlap=0, factor=1, pad=pad)
    assert (out == x).all() and tiles[0][0, 0, 0, 5:].tolist() == seen


def test_too_large_for_memory_is_refused_and_tiling_fits(monkeypatch):
    import edgesr.runtimes.base as base
    from edgesr.errors import EdgesrError
    from edgesr.models.profile import activation_bytes_per_pixel

    model = create_model("espcn", scale=2)
    per_pixel = activation_bytes_per_pixel(model, 2)
    assert per_pixel == pytest.approx(4 * (64 + 64), rel=0.01)  # the first conv's 64-channel output twice (conv, tanh)
    monkeypatch.setattr(base, "available_memory", lambda: int(per_pixel * 40 * 40))
    x = np.zeros((1, 1, 64, 64), np.float32)
    with TorchRunner(model, 2) as runner, pytest.raises(EdgesrError, match="run it in tiles"):
        runner.run(x)
    with TorchRunner(model, 2, tile=(16, 16)) as runner:
        assert runner.run(x).shape == (1, 1, 128, 128)

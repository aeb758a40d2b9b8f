import numpy as np
import pytest
import torch

from edgesr.inference import upscale
from edgesr.models import create_model
from edgesr.runtimes.tiling import tiled_run
from edgesr.runtimes.torch import TorchRunner, receptive_radius


@pytest.mark.parametrize("name, scale, tile, kw", [("espcn", 3, (8, 4), {}), ("fsrcnn", 2, (8, 8), {}),
                                                   pytest.param("masrn", 4, (8, 12), {}, marks=pytest.mark.slow),
                                                   ("vdsr", 2, (14, 16), {"depth": 5})])
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


@pytest.mark.parametrize("name, scale", [("espcn", 3), ("fsrcnn", 2), pytest.param("vdsr", 2, marks=pytest.mark.slow),
                                         pytest.param("masrn", 4, marks=pytest.mark.slow)])
@pytest.mark.parametrize("gray", [False, True])
def test_upscale_in_pieces_equals_whole_image(name, scale, gray, photo):
    """upscale() on pieces (the pipeline's colour planes included) gives the whole-image result."""
    torch.manual_seed(0)
    model = create_model(name, scale=scale)
    lr = photo[:37, :45, 0] if gray else photo[:37, :45]
    with TorchRunner(model, scale) as whole, TorchRunner(model, scale, tile=(16, 12)) as pieces:
        ref = upscale(whole, lr)
        seen = []
        got = upscale(pieces, lr, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, 12) for i in range(1, 13)]  # 37x45 in pieces of at most 16x12: 3 rows x 4 columns
    assert got.image.shape == ref.image.shape
    diff = np.abs(got.image.astype(int) - ref.image.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3  # float error can flip a rounding, nothing more
    np.testing.assert_allclose(got.y, ref.y, atol=1)


def test_auto_tile_when_memory_is_short(monkeypatch, photo):
    import edgesr.runtimes.base as base
    from edgesr.inference import auto_tile, piece_bytes, tile_margin

    model = create_model("espcn", scale=2)
    with TorchRunner(model, 2) as runner:
        need = piece_bytes(runner, (1000, 1000))
        monkeypatch.setattr(base, "available_memory", lambda: int(need))  # the whole needs more than half
        tile = auto_tile(runner, (1000, 1000))
        margin = tile_margin(runner.spec, 2, runner.receptive_radius())
        assert tile is not None and piece_bytes(runner, (tile[0] + 2 * margin, tile[1] + 2 * margin)) <= need / 4
        assert tile[0] >= 256
        monkeypatch.setattr(base, "available_memory", lambda: int(need * 3))
        assert auto_tile(runner, (1000, 1000)) is None
        runner.memory_budget = piece_bytes(runner, (200, 200))  # a budget: pieces whatever the memory
        tile = auto_tile(runner, (1000, 1000))
        assert tile[0] < 200 and piece_bytes(runner, (tile[0] + 2 * margin,) * 2) <= runner.memory_budget
        assert auto_tile(runner, (100, 100)) is None
        runner.auto_tiling = False
        assert auto_tile(runner, (1000, 1000)) is None


def test_tile_boxes_cover_the_image_once():
    from edgesr.inference import tile_boxes

    for h, w, t in [(37, 45, (16, 12)), (5, 7, (8, 8)), (100, 1, (3, 3))]:
        cover = np.zeros((h, w), int)
        for y0, y1, x0, x1 in tile_boxes(h, w, t):
            assert 0 < y1 - y0 <= t[0] and 0 < x1 - x0 <= t[1]
            cover[y0:y1, x0:x1] += 1
        assert (cover == 1).all()

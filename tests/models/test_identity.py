"""Weights that say what they are: a file with identity metadata rebuilds its network alone."""

import json
import shutil
import textwrap

import pytest
import torch

from edgesr.errors import ModelError
from edgesr.models import create_model, registry
from edgesr.models.weights import (PRETRAINED_DIR, identity_metadata, load_model, read_metadata, save_weights,
                                   stored_identity)

NET = textwrap.dedent("""
    from torch import nn
    from edgesr.models import sr_model

    @sr_model(colour="y", upsampling="post", scales=(2, 3))
    def net(channels=1, scale=2, width=4):
        return nn.Sequential(nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(),
                             nn.Conv2d(width, channels * scale * scale, 3, padding=1), nn.PixelShuffle(scale))
""")


@pytest.fixture(autouse=True)
def _clean_references(monkeypatch):
    monkeypatch.setattr(registry, "_REFERENCES", {})


def _same(a, b, x):
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x), rtol=0, atol=0)


def test_file_reference_with_options_round_trips(tmp_path, monkeypatch):
    (tmp_path / "nets").mkdir()
    (tmp_path / "nets" / "mine.py").write_text(NET)
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    model = create_model("nets/mine.py:net", scale=3, width=6)
    path = save_weights(model, tmp_path / "w.safetensors", identity_metadata(model))
    meta = read_metadata(path)
    assert meta["model"] == "nets/mine.py:net" and json.loads(meta["options"]) == {"width": 6}
    assert (json.loads(meta["scales"]), meta["colour"], meta["upsampling"], meta["multi_scale"]) == ([3], "y", "post",
                                                                                                    "false")
    loaded = load_model("nets/mine.py:net", weights=path)  # the user names the code; the file gives the rest
    assert loaded.spec.options == {"width": 6} and loaded.spec.scales == (3,) and not loaded.training
    _same(model.eval(), loaded, torch.rand(1, 1, 7, 9))
    with pytest.raises(ModelError, match=r"w.safetensors holds net for x3, not x2"):
        load_model("nets/mine.py:net", 2, path)


def _evil(folder):
    """A module that leaves a mark when imported."""
    (folder / "evil.py").write_text(f"open({str(folder / 'ran')!r}, 'w').close()\n"
                                    "def factory(channels=1, scale=2):\n    raise SystemExit('ran')\n")


@pytest.mark.parametrize("stored", ["evil.py:factory", "ABSOLUTE", "json:loads", "nets/mine.py:net"])
def test_a_file_never_chooses_code(stored, tmp_path, monkeypatch):
    """A weights file that names a factory by code is refused before anything is imported, with the
    --model line that would run it on the user's word."""
    _evil(tmp_path)
    monkeypatch.chdir(tmp_path)
    stored = str(tmp_path / "evil.py") + ":factory" if stored == "ABSOLUTE" else stored
    path = save_weights(create_model("espcn", scale=2), tmp_path / "w.safetensors", {"model": stored})
    from edgesr.models.weights import weights_spec

    for load in (lambda: load_model(weights=path), lambda: weights_spec(None, path)):
        with pytest.raises(ModelError) as err:
            load()
        assert str(err.value).startswith(f"{path} names its model by code ({stored}), and edgesr runs no code a "
                                         "file names; if you trust it, name it yourself: --model ")
        assert not (tmp_path / "ran").exists()


def test_the_refusal_finds_a_file_reference_beside_the_weights(tmp_path, monkeypatch):
    run = tmp_path / "run"
    (run / "nets").mkdir(parents=True)
    (run / "nets" / "mine.py").write_text(NET)
    monkeypatch.chdir(run)
    model = create_model("nets/mine.py:net", scale=2)
    path = save_weights(model, run / "w.safetensors", identity_metadata(model))
    monkeypatch.chdir(tmp_path)  # nets/mine.py is not here, but beside the weights: the message names it
    with pytest.raises(ModelError, match=f"--model {run / 'nets' / 'mine.py'}:net "):
        load_model(weights=path)
    assert load_model(f"{run / 'nets' / 'mine.py'}:net", weights=path).spec.scales == (2,)
    shutil.rmtree(run / "nets")
    with pytest.raises(ModelError, match="--model path/to/mine.py:net "):
        load_model(weights=path)


def test_multi_scale_subset_and_colour_round_trip(tmp_path):
    torch.manual_seed(0)
    model = create_model("masrn", colour="y", scales=[2, 3], features=8, blocks=1, refine_features=4)
    path = save_weights(model, tmp_path / "m.safetensors", identity_metadata(model))
    loaded = load_model(weights=path)
    assert (loaded.spec.scales, loaded.spec.colour, set(loaded.upscale)) == ((2, 3), "y", {"x2", "x3"})
    with torch.no_grad():
        x = torch.rand(1, 1, 6, 6)
        torch.testing.assert_close(model.eval()(x, 3), loaded(x, 3), rtol=0, atol=0)
    with pytest.raises(Exception, match="does not support x4; supported: x2, x3"):
        load_model("masrn", 4, path)


def test_files_that_name_no_model(tmp_path):
    path = save_weights(create_model("espcn", scale=2), tmp_path / "plain.safetensors")
    assert stored_identity(path) == {"model": None, "options": {}, "scales": None, "colour": None}
    with pytest.raises(ModelError, match="plain.safetensors does not say which model it holds"):
        load_model(weights=path)
    assert load_model("espcn", 2, path) is not None  # named on the command line: as before


def test_shipped_files_name_their_model_and_load_alone():
    for path in sorted(PRETRAINED_DIR.glob("*.safetensors")):
        meta = read_metadata(path)
        if "model" not in meta:  # converted weights (asym_vdsr) name none
            continue
        scale = int(path.stem.split("_x")[1]) if "_x" in path.stem else None
        model = load_model(None, scale, path)
        assert model.spec.name == meta["model"]


def test_checkpoints_load_their_averaged_weights(tmp_path):
    from edgesr.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    model = create_model("espcn", scale=2)
    ema = create_model("espcn", scale=2)
    optimizer = torch.optim.Adam(model.parameters())
    path = save_checkpoint(tmp_path / "c.safetensors", model=model, optimizer=optimizer, ema=ema,
                           state={"iteration": 1}, metadata=identity_metadata(model))
    _same(ema.eval(), load_model(weights=path), torch.rand(1, 1, 5, 5))


def test_weights_spec_says_what_load_model_builds(tmp_path):
    from edgesr.models.weights import weights_spec

    model = create_model("masrn", colour="y", scales=[3], features=8, blocks=1, refine_features=4)
    path = save_weights(model, tmp_path / "m.safetensors", identity_metadata(model))
    spec = weights_spec(None, path)
    assert (spec.scales, spec.colour, spec.options) == ((3,), "y", model.spec.options)
    espcn = create_model("espcn", scale=4)
    path = save_weights(espcn, tmp_path / "e.safetensors", identity_metadata(espcn))
    assert weights_spec("espcn", path).scales == (4,) and weights_spec("espcn", None).scales == (2, 3, 4)


def test_bench_worker_rebuilds_from_reference_and_options(tmp_path, monkeypatch):
    """The bench's fresh process gets the reference and weights (whose file names its options), or
    the options themselves."""
    from edgesr.benchmark.worker import _torch_model

    (tmp_path / "mine.py").write_text(NET)
    monkeypatch.chdir(tmp_path)
    model = create_model("mine.py:net", scale=2, width=5)
    path = save_weights(model, tmp_path / "w.safetensors", identity_metadata(model))
    x = torch.rand(1, 1, 6, 6)
    for req in ({"model": "mine.py:net", "weights": str(path), "scale": 2},
                {"model": "mine.py:net", "options": {"width": 5}, "weights": str(path), "scale": 2}):
        _same(model.eval(), _torch_model(req), x)
    with pytest.raises(ModelError, match="names its model by code"):  # the reference comes from the user
        _torch_model({"model": None, "weights": str(path), "scale": 2})

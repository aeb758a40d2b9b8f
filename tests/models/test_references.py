"""Models named by reference: module:factory, file.py:factory, entry points; their declarations and
the one-line errors of references that do not work."""

import importlib.metadata
import textwrap

import pytest
import torch

from edgesr.errors import ModelError
from edgesr.models import create_model, get_spec, list_models, register_model, sr_model
from edgesr.models import registry

NET = """
import torch
from torch import nn
{imports}

class Net(nn.Module):
    def __init__(self, channels, scale, width):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        self.width = width

    def forward(self, x):
        return self.shuffle(self.conv(x))

{decorator}
def net(channels=1, scale=2, width=8):
    return Net(channels, scale, width)
"""
DECORATED = NET.format(imports="from edgesr.models import sr_model",
                       decorator="@sr_model(colour='y', upsampling='post', scales=(2, 3))")
PLAIN = NET.format(imports="", decorator="") + (
    "\nnet.edgesr_spec = {'colour': 'rgb', 'upsampling': 'post', 'scales': [2, 4]}\n")


@pytest.fixture(autouse=True)
def _clean_registry(monkeypatch):
    """References and registrations made by a test are forgotten after it."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_REFERENCES", {})


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_registry_names_keep_their_reference():
    spec = get_spec("masrn")
    assert spec.ref == "masrn" and spec.options == {}
    model = create_model("masrn", scales=(2, 3), features=8, blocks=1, refine_features=4)
    assert model.spec.scales == (2, 3) and model.spec.options == {"scales": (2, 3), "features": 8, "blocks": 1,
                                                                    "refine_features": 4}
    assert create_model("espcn", scale=3).spec.options == {}  # the scale is not an option


def test_file_reference_relative_to_the_working_folder(tmp_path, monkeypatch):
    _write(tmp_path / "nets" / "mine.py", DECORATED)
    monkeypatch.chdir(tmp_path)
    spec = get_spec("nets/mine.py:net")
    assert (spec.name, spec.ref, spec.colour, spec.upsampling, spec.scales) == (
        "net", "nets/mine.py:net", "y", "post", (2, 3))
    model = create_model("nets/mine.py:net", scale=3, width=4)
    assert model.spec.scales == (3,) and model.spec.options == {"width": 4} and model.width == 4
    assert model(torch.rand(1, 1, 5, 5)).shape == (1, 1, 15, 15)
    assert get_spec("./nets/mine.py:net").build is spec.build  # the file is imported once


def test_two_files_of_the_same_name_do_not_collide(tmp_path, monkeypatch):
    _write(tmp_path / "a" / "net.py", DECORATED)
    _write(tmp_path / "b" / "net.py", PLAIN)
    monkeypatch.chdir(tmp_path)
    assert get_spec("a/net.py:net").colour == "y"
    plain = get_spec("b/net.py:net")  # declared with a plain mapping: the file imports no edgesr
    assert (plain.colour, plain.scales) == ("rgb", (2, 4))
    assert create_model("b/net.py:net", scale=4).spec.channels == 3


def test_module_reference(tmp_path, monkeypatch):
    _write(tmp_path / "my_sr_models.py", DECORATED)
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = get_spec("my_sr_models:net")
    assert spec.ref == "my_sr_models:net" and spec.name == "net"
    assert create_model("my_sr_models:net", scale=2).spec.per_scale


def test_entry_point(tmp_path, monkeypatch):
    _write(tmp_path / "their_models.py", PLAIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    points = [importlib.metadata.EntryPoint("tiny", "their_models:net", "edgesr.models")]
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group=None: [p for p in points if p.group == group])
    assert "tiny" in list_models() and "their_models" not in __import__("sys").modules  # listed, not imported
    spec = get_spec("tiny")
    assert (spec.name, spec.ref, spec.colour) == ("tiny", "tiny", "rgb")
    assert create_model("tiny", scale=2).spec.ref == "tiny"
    with pytest.raises(ModelError, match="unknown model 'nothing'; known models: .*tiny"):
        get_spec("nothing")


def test_a_broken_entry_point_is_named(monkeypatch):
    points = [importlib.metadata.EntryPoint("broken", "no_such_module_xyz:net", "edgesr.models")]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group=None: points)
    with pytest.raises(ModelError, match=r"model broken: loading no_such_module_xyz:net failed: ModuleNotFound"):
        get_spec("broken")


@pytest.mark.parametrize("declared, missing", [
    ("", "colour, upsampling, scales"),
    ("net.edgesr_spec = {'colour': 'y'}", "upsampling, scales"),
])
def test_missing_declarations_are_named(tmp_path, monkeypatch, declared, missing):
    _write(tmp_path / "x.py", NET.format(imports="", decorator="") + "\n" + declared + "\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError) as err:
        get_spec("x.py:net")
    assert str(err.value) == (f"x.py:net does not declare {missing}; decorate it with @edgesr.models.sr_model("
                              "colour='y', upsampling='post', scales=(2, 3, 4)) (or set its edgesr_spec mapping)")


@pytest.mark.parametrize("text, ref, message", [
    (None, "missing.py:net", r"missing.py:net: no file missing.py \(relative to "),
    (DECORATED, "x.py:nett", r"x.py:nett: x.py has no attribute 'nett'; declared factories in it: net"),
    (DECORATED + "\nnumber = 3\n", "x.py:number", r"x.py:number: number is a int, not a function or class"),
    ("import torch\nraise RuntimeError('no GPU here')\n", "x.py:net",
     r"x.py:net: importing x.py failed: RuntimeError: no GPU here \(line 2\)"),
    ("def net(:\n", "x.py:net", r"x.py:net: importing x.py failed: SyntaxError: .*\(line 1\)"),
    (None, "no_such_package_xyz.models:net", r"no module named 'no_such_package_xyz'"),
    (None, "x.py:", r"bad model reference 'x.py:'"),
    (DECORATED.replace("colour='y'", "colour='lab'"), "x.py:net", r"sr_model: colour must be one of y, rgb"),
])
def test_bad_references_are_one_line(tmp_path, monkeypatch, text, ref, message):
    if text is not None:
        _write(tmp_path / "x.py", text)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError, match=message) as err:
        get_spec(ref)
    assert "\n" not in str(err.value)


def test_factory_contract_is_checked(tmp_path, monkeypatch):
    _write(tmp_path / "y.py", """
        from torch import nn
        from edgesr.models import sr_model

        @sr_model(colour="y", upsampling="post", scales=(2,))
        def noscale(channels=1):
            return nn.Conv2d(channels, 4, 3)

        @sr_model(colour="y", upsampling="pre", scales=(2, 3))
        def nochannels():
            return nn.Conv2d(1, 1, 3, padding=1)

        @sr_model(colour="y", upsampling="pre", scales=(2,))
        def notamodule(channels=1):
            return 42
    """)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError, match="must take scale="):
        create_model("y.py:noscale", scale=2)
    assert create_model("y.py:nochannels").spec.channels == 1  # channels= is passed only when taken
    with pytest.raises(ModelError, match="takes no channels= argument, so it cannot be built for rgb"):
        create_model("y.py:nochannels", colour="rgb")
    with pytest.raises(ModelError, match="returned a int, not a torch.nn.Module"):
        create_model("y.py:notamodule")


def test_register_model_forms(tmp_path, monkeypatch):
    _write(tmp_path / "reg_models.py", DECORATED)
    monkeypatch.syspath_prepend(str(tmp_path))

    @register_model("declared_here", colour="rgb", upsampling="pre", scales=(2,))
    def a(channels=3):
        return torch.nn.Identity()

    @register_model("declared_before")
    @sr_model(colour="y", upsampling="pre", scales=(3,))
    def b(channels=1):
        return torch.nn.Identity()

    register_model("by_string", "reg_models:net")
    register_model("by_object", b, colour="rgb")  # keywords override the factory's declaration
    assert [get_spec(n).colour for n in ("declared_here", "declared_before", "by_string", "by_object")] == \
        ["rgb", "y", "y", "rgb"]
    assert get_spec("by_string").scales == (2, 3) and get_spec("declared_before").scales == (3,)
    with pytest.raises(ValueError, match="twice"):
        register_model("by_string", "reg_models:net")
    with pytest.raises(ValueError, match="does not declare upsampling, scales"):
        register_model("half", lambda channels=1: None, colour="y")


def test_sr_model_declares_without_registering():
    @sr_model(colour="y", upsampling="post", scales=3)
    def f(channels=1, scale=3):
        """One line of description.

        More."""

    assert f.edgesr_spec["scales"] == (3,) and "f" not in list_models()
    with pytest.raises(ModelError, match="scales must be integers >= 2"):
        sr_model(colour="y", upsampling="post", scales=(1,))
    with pytest.raises(ModelError, match="upsampling must be pre or post"):
        sr_model(colour="y", upsampling="inside", scales=(2,))

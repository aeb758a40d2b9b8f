"""The I/O contract inside Core ML packages: read back from the package alone, and said in the spec's
own fields (short description, version, author, license, feature descriptions, user-defined
metadata) for a single-scale package and a shared-trunk multifunction one."""

import json
import shutil

import pytest

from edgesr.errors import ArtifactError
from edgesr.formats.coreml.metadata import feature_descriptions
from edgesr.formats.registry import read_contract
from edgesr.manifest import Head, Manifest, TensorSpec
from edgesr.metadata import LICENSE, summary


def _manifest(io: str) -> Manifest:
    """A hand-made manifest of a masrn x2/x4 multifunction package (no export needed)."""
    image = io == "image"

    def spec(name, h, w):
        return TensorSpec(name, "image" if image else "NCHW", "uint8" if image else "float32", 3, h, w,
                          value_range=(0.0, 255.0) if image else (0.0, 1.0))

    heads = tuple(Head(s, f"x{s}", spec("input", 64, 48), spec("output", 64 * s, 48 * s)) for s in (2, 4))
    return Manifest("masrn", (2, 4), "coreml", "fp16", "rgb", "post", heads[0].input, heads[0].output, "", None,
                    receptive_radius=11, heads=heads, io=io, tools={"edgesr": "0.1.0"})


@pytest.mark.parametrize("io", ["tensor", "image"])
def test_feature_descriptions_say_what_to_feed_and_read(io):
    data = _manifest(io).contract()
    texts = feature_descriptions(data, data["heads"][1])
    feed, out = texts["input"], texts["output"]
    assert "48x64 (WxH)" in feed and "192x256 (WxH)" in out and "x4" in out
    assert "tiles overlapping by 11" in feed
    if io == "image":
        assert "8-bit RGB image" in feed and "pixels 0-255" in feed and "divides by 255 itself" in feed
        assert "clamped to 0-255 inside the model" in out
    else:
        assert "float32 NCHW" in feed and "(pixel - 0) / 255" in feed and "on 0-1" in feed
        assert "clamp to 0-255 and round" in out


def test_a_folder_that_is_no_package_is_refused(tmp_path):
    from edgesr.formats.coreml.metadata import read
    (tmp_path / "x.mlpackage").mkdir()
    with pytest.raises(ArtifactError, match="not a Core ML package"):
        read(tmp_path / "x.mlpackage")


@pytest.fixture(scope="module")
def packages(tmp_path_factory, weights, data_root):
    """``edgesr export -m asym_vdsr -s 2 -f coreml -p fp16`` (the shipped weights) and a masrn x2/x3/x4
    multifunction package with image I/O."""
    pytest.importorskip("coremltools", reason="the coreml extra is not installed: pip install 'edgesr[coreml]'")
    from edgesr.conversion.api import export_model

    out, root = tmp_path_factory.mktemp("coreml_metadata"), str(data_root)
    return {"single": export_model("asym_vdsr", 2, "coreml", out, precision="fp16", lr_size=(32, 32), check=False,
                                   data_root=root),
            "shared": export_model("masrn", (2, 3, 4), "coreml", out, precision="fp16", weights=weights["masrn"],
                                   lr_size=(32, 32), io="image", check=False, data_root=root)}




@pytest.mark.slow
@pytest.mark.parametrize("kind", ["single", "shared"])
def test_contract_round_trips(packages, kind, alone):
    copy, expected = alone(packages[kind])
    contract = read_contract(copy)
    assert contract == expected
    if kind == "single":
        assert (contract["colour"], contract["upsampling"], contract["io"]) == ("y", "pre", "tensor")
        assert contract["input"]["normalisation"] == {"mean": 0.0, "std": 255.0} and contract["heads"] == []
    else:
        assert contract["scales"] == [2, 3, 4] and [h["entry"] for h in contract["heads"]] == ["x2", "x3", "x4"]
        assert contract["io"] == "image" and contract["input"]["layout"] == "image"
        assert contract["input"]["normalisation"] == {"mean": 0.0, "std": 1.0}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["single", "shared"])
def test_native_fields_say_the_contract(packages, kind):
    """What Xcode's model page shows, without parsing the JSON."""
    import coremltools as ct

    from edgesr.formats.coreml.metadata import fields

    contract = read_contract(packages[kind])
    f = fields(packages[kind])
    assert f["short_description"] == summary(contract)
    assert f["version"] == contract["edgesr_version"] and f["author"] == "edgesr" and f["license"] == LICENSE
    user = f["user_defined"]
    assert json.loads(user["edgesr"]) == contract
    assert user["colour"] == contract["colour"] and user["scales"] == ",".join(map(str, contract["scales"]))
    assert user["upsampling"] == contract["upsampling"] and user["io"] == contract["io"]
    assert int(user["tile_overlap"]) == contract["tile"]["overlap"] and user["tile_pad"] == "edge"
    if kind == "single":  # coremltools' own keys stay (a multifunction package has none)
        assert "com.github.apple.coremltools.version" in user
    heads = contract["heads"] or [{"entry": "", **contract}]
    for head in heads:
        scale = head.get("scale", contract["scales"][0])
        described = f["features"][head["entry"]]
        assert described == feature_descriptions(contract, {"scale": scale, **head})
    # the package still loads, with its weights (the spec alone was rewritten)
    model = ct.models.MLModel(str(packages[kind]), skip_model_load=True,
                              **({"function_name": "x3"} if kind == "shared" else {}))
    assert model.short_description == f["short_description"]
    if kind == "single":  # (coremltools reads a multifunction package's feature descriptions from none)
        assert model.input_description["input"] == f["features"][""]["input"]


@pytest.mark.slow
def test_a_package_without_the_contract_says_so(packages, tmp_path):
    import coremltools as ct

    from edgesr.formats.coreml.metadata import read

    copy = tmp_path / "bare.mlpackage"
    shutil.copytree(packages["single"], copy)
    spec_file = copy / "Data" / "com.apple.CoreML" / "model.mlmodel"
    spec = ct.proto.Model_pb2.Model()
    spec.ParseFromString(spec_file.read_bytes())
    del spec.description.metadata.userDefined["edgesr"]
    spec_file.write_bytes(spec.SerializeToString())
    with pytest.raises(ArtifactError, match="no edgesr metadata inside"):
        read(copy)

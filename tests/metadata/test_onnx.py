"""The I/O contract inside ONNX artifacts, read back from the artifact alone."""

import json
import shutil

import pytest

from edgesr.errors import ArtifactError
from edgesr.formats.registry import read_contract
from edgesr.manifest import manifest_path, read_manifest
from edgesr.metadata import normalisation

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed: pip install 'edgesr[onnx]'")




@pytest.mark.parametrize("kind", ["espcn-fp32", "espcn-int8", "masrn-fp32-fixed"])
def test_single_scale_contract_round_trips(artifacts, kind, alone):
    copy, expected = alone(artifacts[kind])
    contract = read_contract(copy)
    assert contract == expected
    manifest = read_manifest(artifacts[kind])
    assert contract["colour"] == manifest.colour and contract["scales"] == list(manifest.scales)
    assert contract["input"]["normalisation"] == {"mean": 0.0, "std": 255.0}
    assert contract["tile"] == {"overlap": manifest.receptive_radius, "pad": "edge"}
    assert contract["size"] == ("fixed" if kind.endswith("fixed") else "dynamic")
    assert contract["edgesr_version"] == manifest.tools["edgesr"]


@pytest.mark.parametrize("kind", ["onnx-fp32", "onnx-int8"])
def test_shared_trunk_contract_names_the_scale_input(shared_artifacts, kind, alone):
    copy, expected = alone(shared_artifacts[kind])
    contract = read_contract(copy)
    assert contract == expected
    assert contract["scale_input"] == "scale" and contract["scales"] == [2, 3, 4]
    assert [h["scale"] for h in contract["heads"]] == [2, 3, 4]


def test_native_fields_say_the_same(shared_artifacts):
    """What tools that never parse the JSON show: flat metadata_props, doc_string, model_version."""
    model = onnx.load(str(shared_artifacts["onnx-fp32"]), load_external_data=False)
    props = {p.key: p.value for p in model.metadata_props}
    contract = json.loads(props["edgesr"])
    assert props["colour"] == "rgb" and props["scales"] == "2,3,4" and props["scale_input"] == "scale"
    assert props["layout"] == "NCHW" and props["input_dtype"] == "float32"
    assert float(props["normalisation_std"]) == 255.0 and int(props["tile_overlap"]) == contract["tile"]["overlap"]
    assert "masrn" in model.doc_string and "int64 input 'scale'" in model.doc_string
    major, minor, patch = (int(p) for p in contract["edgesr_version"].split(".")[:3])
    assert model.model_version == major * 10000 + minor * 100 + patch


def test_the_contract_is_part_of_the_sha256(artifacts, tmp_path):
    """Changing the metadata changes the artifact: its manifest no longer matches."""
    src = artifacts["espcn-fp32"]
    copy = tmp_path / src.name
    shutil.copy(src, copy)
    shutil.copy(manifest_path(src), manifest_path(copy))
    model = onnx.load(str(copy))
    for p in model.metadata_props:
        if p.key == "colour":
            p.value = "rgb"
    onnx.save(model, str(copy))
    with pytest.raises(ArtifactError, match="sha256"):
        read_manifest(copy)


def test_reading_is_refused_in_one_line(tmp_path):
    bare = tmp_path / "bare.onnx"
    graph = onnx.helper.make_graph([onnx.helper.make_node("Identity", ["x"], ["y"])], "g",
                                   [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
                                   [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])])
    onnx.save(onnx.helper.make_model(graph), str(bare))
    with pytest.raises(ArtifactError, match="no edgesr metadata inside.*re-export"):
        read_contract(bare)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x0a\xff\xff not a model")
    with pytest.raises(ArtifactError, match="cannot read .*broken.onnx"):
        read_contract(broken)
    with pytest.raises(ArtifactError, match="no such artifact"):
        read_contract(tmp_path / "missing.onnx")
    with pytest.raises(ArtifactError, match="no format with embedded metadata"):
        read_contract(bare.rename(tmp_path / "bare.bin"))


def test_normalisation_maps_pixels_onto_the_value_range():
    assert normalisation((0.0, 1.0)) == {"mean": 0.0, "std": 255.0}
    assert normalisation((0.0, 255.0)) == {"mean": 0.0, "std": 1.0}
    n = normalisation((-1.0, 1.0))  # (pixel - 127.5) / 127.5
    assert n == {"mean": 127.5, "std": 127.5}


def test_edgesr_info_prints_the_contract_from_the_artifact_alone(artifacts, shared_artifacts, alone):
    from click.testing import CliRunner

    from edgesr.cli import main

    copy, expected = alone(shared_artifacts["onnx-fp32"])
    res = CliRunner().invoke(main, ["info", str(copy), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output) == expected
    res = CliRunner().invoke(main, ["info", str(copy)])
    assert res.exit_code == 0 and "masrn super-resolution (x2, x3, x4, fp32) on RGB" in res.output
    assert "x4 output output: NCHW float32 3xHxW" in res.output
    # a manifest from another export beside it: refused in one line
    shutil.copy(manifest_path(artifacts["espcn-fp32"]), manifest_path(copy))
    res = CliRunner().invoke(main, ["info", str(copy)])
    assert res.exit_code == 1 and "disagree" in res.output and len(res.output.strip().splitlines()) == 1


def test_an_artifact_from_before_a_contract_key_is_compared_without_it(tmp_path):
    """activation_bytes_per_pixel joined the contract after version 1 was first written: an artifact
    exported before it is still served; one that holds it must agree with its manifest."""
    import dataclasses

    from edgesr.metadata import ADDED_KEYS, check_agrees
    from tests.web.conftest import nearest_x2_artifact

    artifact = nearest_x2_artifact(tmp_path, activation_bytes_per_pixel=96.0)
    manifest, inside = read_manifest(artifact), read_contract(artifact)
    assert inside["activation_bytes_per_pixel"] == 96.0
    check_agrees(artifact, manifest, inside)
    older = {k: v for k, v in inside.items() if k not in ADDED_KEYS}
    check_agrees(artifact, manifest, older)
    with pytest.raises(ArtifactError, match=r"disagrees .*\(activation_bytes_per_pixel\)"):
        check_agrees(artifact, dataclasses.replace(manifest, activation_bytes_per_pixel=1e6), inside)

"""The I/O contract inside LiteRT artifacts: the TFLite metadata flatbuffer (what Android Studio's
model binding and TFLite Support read) and the contract JSON, read back from the artifact alone."""

import json
import os
import shutil
import subprocess

import pytest

from edgesr.errors import ArtifactError
from edgesr.formats.registry import read_contract
from edgesr.formats.tflite.metadata import IDENTIFIER, build, model_metadata, output_normalisation, parse
from edgesr.manifest import Manifest, TensorSpec, manifest_path, read_manifest
from edgesr.metadata import normalisation, summary

SUPPORT_PYTHON = "EDGESR_TFLITE_SUPPORT_PYTHON"  # a Python with tflite-support 0.4.4 (.ci/run makes one)




def _int8_y_contract() -> dict:
    spec = TensorSpec("args_0", "NHWC", "int8", 1, 24, 24, quantization=(1 / 255, -128))
    out = TensorSpec("output_0", "NHWC", "int8", 1, 48, 48, quantization=(1 / 255, -128))
    return Manifest(model="espcn", scales=(2,), format="tflite", precision="int8", colour="y", upsampling="post",
                    input=spec, output=out, artifact_sha256="", weights_sha256=None, receptive_radius=3,
                    tools={"edgesr": "0.1.0"}).contract()


def test_metadata_flatbuffer_round_trips():
    """The flatbuffer alone (no conversion): identifier, model fields, an int8 Y image tensor."""
    data = _int8_y_contract()
    payload = build(data, [("serving_default", 2, data["input"], data["output"])])
    assert payload[4:8] == IDENTIFIER
    meta = parse(payload)
    assert (meta["name"], meta["version"], meta["author"], meta["min_parser_version"]) == \
        ("edgesr espcn", "0.1.0", "edgesr", "1.0.0")
    assert meta["description"] == summary(data)
    (graph,) = meta["subgraphs"]
    (inp,), (out,) = graph["inputs"], graph["outputs"]
    assert graph["name"] == "serving_default"
    assert (inp["name"], inp["color_space"], inp["default_size"]) == ("args_0", "GRAYSCALE", (24, 24))
    assert (out["name"], out["default_size"]) == ("output_0", (48, 48))
    assert (inp["mean"], inp["std"]) == ([0.0], [255.0])
    assert out["mean"] == [0.0] and out["std"] == pytest.approx([1 / 255])
    assert (inp["min"], inp["max"]) == ([-128.0], [127.0])  # the int8 tensor's own values for pixels 0-255


@pytest.mark.parametrize("value_range", [(0.0, 1.0), (-1.0, 1.0), (0.0, 255.0)])
def test_output_normalisation_gives_the_pixels_back(value_range):
    """A reader dequantizes the output, then applies NormalizeOp: (value - mean) / std is the pixel."""
    n = normalisation(value_range)
    back = output_normalisation(n)
    for pixel in (0.0, 17.0, 255.0):
        value = (pixel - n["mean"]) / n["std"]
        assert (value - back["mean"]) / back["std"] == pytest.approx(pixel)


def _check_native(artifact):
    """The TFLite metadata agrees with the contract, subgraph by subgraph and tensor by tensor."""
    from ai_edge_litert.interpreter import Interpreter

    contract = read_contract(artifact)
    meta = model_metadata(artifact)
    assert meta["description"] == summary(contract) and meta["version"] == contract["edgesr_version"]
    signatures = Interpreter(model_path=str(artifact)).get_signature_list()
    assert [g["name"] for g in meta["subgraphs"]] == list(signatures)
    heads = {h["entry"]: h for h in contract["heads"]} or {g["name"]: contract for g in meta["subgraphs"]}
    space = {"y": "GRAYSCALE", "rgb": "RGB"}[contract["colour"]]
    for graph in meta["subgraphs"]:
        head = heads[graph["name"]]
        (inp,), (out,) = graph["inputs"], graph["outputs"]
        assert inp["name"] == head["input"]["name"] == signatures[graph["name"]]["inputs"][0]
        assert out["name"] == head["output"]["name"] == signatures[graph["name"]]["outputs"][0]
        assert inp["color_space"] == out["color_space"] == space
        assert inp["default_size"] == (head["input"]["width"], head["input"]["height"])
        assert out["default_size"] == (head["output"]["width"], head["output"]["height"])
        n, m = head["input"]["normalisation"], head["output"]["normalisation"]
        assert inp["mean"] == [n["mean"]] and inp["std"] == [n["std"]]
        back = output_normalisation(m)
        assert out["mean"] == [back["mean"]] and out["std"] == pytest.approx([back["std"]])
    return meta


@pytest.mark.parametrize("kind", ["espcn-fp32", "espcn-int8"])
def test_single_scale_contract_round_trips(tflite_artifacts, kind, alone):
    copy, expected = alone(tflite_artifacts[kind])
    assert read_contract(copy) == expected
    meta = _check_native(copy)
    (graph,) = meta["subgraphs"]
    quantized = kind.endswith("int8")
    assert graph["inputs"][0]["color_space"] == "GRAYSCALE"  # espcn takes the Y channel
    assert (graph["inputs"][0]["min"], graph["inputs"][0]["max"]) == (([-128.0], [127.0]) if quantized
                                                                       else ([0.0], [1.0]))


@pytest.mark.parametrize("kind", ["tflite-fp32", "tflite-int8"])
def test_shared_trunk_has_a_subgraph_per_scale(shared_artifacts, kind, alone):
    copy, expected = alone(shared_artifacts[kind])
    contract = read_contract(copy)
    assert contract == expected and contract["scales"] == [2, 3, 4]
    meta = _check_native(copy)
    assert [g["name"] for g in meta["subgraphs"]] == ["x2", "x3", "x4"]
    assert [g["outputs"][0]["default_size"] for g in meta["subgraphs"]] == [(128, 128), (192, 192), (256, 256)]


def test_the_artifact_still_runs_and_the_contract_is_part_of_its_sha256(tflite_artifacts, tmp_path, photo):
    """The metadata entries leave the graph alone (the export check ran on the embedded file), and
    changing them changes the artifact: its manifest no longer matches."""
    from ai_edge_litert.tools import flatbuffer_utils

    from edgesr.formats.registry import open_runner
    from edgesr.inference import upscale

    src = tflite_artifacts["espcn-fp32"]
    with open_runner(src) as runner:
        assert upscale(runner, photo).y.shape == (96, 120)
    copy = tmp_path / src.name
    shutil.copy(src, copy)
    shutil.copy(manifest_path(src), manifest_path(copy))
    model = flatbuffer_utils.read_model(str(copy))
    model.metadata = [m for m in model.metadata if m.name not in (b"edgesr", "edgesr")]
    flatbuffer_utils.write_model(model, str(copy))
    with pytest.raises(ArtifactError, match="sha256"):
        read_manifest(copy)
    with pytest.raises(ArtifactError, match="no edgesr metadata inside.*re-export"):
        read_contract(copy)


def test_reading_is_refused_in_one_line(tmp_path):
    broken = tmp_path / "broken.tflite"
    broken.write_bytes(b"\x08\x00\x00\x00TFL3 truncated")
    with pytest.raises(ArtifactError, match="cannot read .*broken.tflite as a LiteRT model"):
        read_contract(broken)
    with pytest.raises(ArtifactError, match="no such artifact"):
        read_contract(tmp_path / "missing.tflite")


_DISPLAY = """
import json, sys
from tensorflow_lite_support.metadata.python import metadata
print(metadata.MetadataDisplayer.with_model_file(sys.argv[1]).get_metadata_json())
"""


@pytest.mark.skipif(not os.environ.get(SUPPORT_PYTHON),
                    reason=f"set {SUPPORT_PYTHON} to a Python with tflite-support 0.4.4 (.ci/run makes one; it "
                           "needs protobuf<4 and cannot live in edgesr's venv)")
@pytest.mark.parametrize("kind", ["espcn-int8", "shared"])
def test_tflite_support_reads_the_metadata(tflite_artifacts, shared_artifacts, kind):
    """Google's own reader (MetadataDisplayer, which checks the flatbuffer against the schema)
    shows what edgesr's reader shows."""
    artifact = shared_artifacts["tflite-fp32"] if kind == "shared" else tflite_artifacts[kind]
    out = subprocess.run([os.environ[SUPPORT_PYTHON], "-c", _DISPLAY, str(artifact)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    theirs, ours = json.loads(out.stdout), model_metadata(artifact)
    assert theirs["description"] == ours["description"] and theirs["min_parser_version"] == "1.0.0"
    assert [g["name"] for g in theirs["subgraph_metadata"]] == [g["name"] for g in ours["subgraphs"]]
    for graph, mine in zip(theirs["subgraph_metadata"], ours["subgraphs"]):
        for tensor, own in zip(graph["input_tensor_metadata"] + graph["output_tensor_metadata"],
                               mine["inputs"] + mine["outputs"]):
            props = tensor["content"]["content_properties"]
            options = tensor["process_units"][0]["options"]
            assert tensor["content"]["content_properties_type"] == "ImageProperties"
            assert props["color_space"] == own["color_space"]
            assert (props["default_size"]["width"], props["default_size"]["height"]) == own["default_size"]
            assert options["mean"] == pytest.approx(own["mean"])
            assert options["std"] == pytest.approx(own["std"], rel=1e-3)  # its JSON prints 6 decimals

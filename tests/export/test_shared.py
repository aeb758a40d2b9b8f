"""One artifact for every scale of masrn: the shared parts stored once, the scale chosen at run time."""

import numpy as np
import pytest
import torch

from edgesr.errors import ExportError, ScaleError
from edgesr.conversion.api import export_model
from edgesr.formats.registry import open_runner
from edgesr.manifest import artifact_bytes, read_manifest, torch_psnr
from edgesr.models.registry import create_model
from edgesr.models.weights import load_model

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: pip install 'edgesr[onnx]'")


def _reference(weights, scale, x):
    with torch.no_grad():
        return load_model("masrn", scale, weights["masrn"])(torch.from_numpy(x), scale).numpy()


@pytest.mark.parametrize("kind", ["onnx-fp32", "tflite-fp32"])
def test_every_scale_matches_pytorch(shared_artifacts, weights, kind):
    x = np.random.default_rng(1).random((1, 3, 64, 64), dtype=np.float32)
    manifest = read_manifest(shared_artifacts[kind])
    assert manifest.scales == (2, 3, 4) and [h.scale for h in manifest.heads] == [2, 3, 4]
    for scale in (2, 3, 4):
        with open_runner(shared_artifacts[kind], scale) as runner:
            out = runner.run(x)
        assert out.shape == (1, 3, 64 * scale, 64 * scale)
        np.testing.assert_allclose(out, _reference(weights, scale, x), atol=1e-4)
    assert manifest.check["per_scale"].keys() == {"x2", "x3", "x4"}
    assert torch_psnr(manifest.check) > 60  # the worst scale, on Set5


def test_onnx_graph_switches_with_an_if_and_stores_the_trunk_once(shared_artifacts):
    import onnx
    model = onnx.load(str(shared_artifacts["onnx-fp32"]))
    assert [i.name for i in model.graph.input] == ["input", "scale"]
    assert [n.op_type for n in model.graph.node].count("If") == 1  # x2, else (x3, else x4)
    trunk = [i for i in model.graph.initializer if i.name.startswith("trunk/")]
    assert trunk and len({i.name for i in trunk}) == len(trunk)
    # smaller than 1.3x ONE single-scale artifact, even the smallest (x2)
    ratio = artifact_bytes(shared_artifacts["onnx-fp32"]) / artifact_bytes(shared_artifacts["onnx-x2"])
    assert ratio < 1.3, ratio


def test_litert_signature_per_scale_shares_weights(shared_artifacts):
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=str(shared_artifacts["tflite-fp32"]))
    assert set(it.get_signature_list()) == {"x2", "x3", "x4"}
    n_params = sum(p.numel() for p in create_model("masrn").parameters())
    assert artifact_bytes(shared_artifacts["tflite-fp32"]) < 1.15 * 4 * n_params  # each float weight once


def test_litert_int8_stores_shared_quantization_once(shared_artifacts):
    """Each signature quantizes the shared weights alike; their per-channel tables are written once.
    What remains per signature is its graph: ops, activation tensors and their tables (1.22x with
    8-bit activations only; the 16-bit stages' requantize ops and tensors make it 1.31x)."""
    ratio = artifact_bytes(shared_artifacts["tflite-int8"]) / artifact_bytes(shared_artifacts["tflite-int8-x2"])
    assert ratio < 1.35, ratio


@pytest.mark.parametrize("kind", ["onnx-int8", "tflite-int8"])
def test_int8_every_scale_close_to_pytorch(shared_artifacts, kind):
    manifest = read_manifest(shared_artifacts[kind])
    assert manifest.precision == "int8"
    for scale in ("x2", "x3", "x4"):  # the export-time check on Set5, per scale
        assert torch_psnr(manifest.check["per_scale"][scale]) > 30


def test_onnx_int8_is_all_8_bit_and_a_concat_reads_one_grid(shared_artifacts):
    """masrn's INT8 is the scheme's: no 16-bit tensor anywhere in the shared graph; the trunk's
    concatenation and the five tensors it joins are quantized with one scale and zero point (so
    no runtime requantizes them), and weights are 63-step integers."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(shared_artifacts["onnx-int8"]))
    graphs = [model.graph] + [a.g for n in model.graph.node for a in n.attribute if a.g.name]  # + each head
    inits = {i.name: numpy_helper.to_array(i) for g in graphs for i in g.initializer}
    nodes = [n for g in graphs for n in g.node]
    assert not [n.name for n in nodes if n.op_type == "QuantizeLinear" and inits[n.input[2]].dtype != np.uint8]
    producer = {o: n for n in nodes for o in n.output}
    concat = next(n for n in nodes if n.op_type == "Concat" and len(n.input) == 5)
    params = set()
    for name in concat.input:
        q = producer[producer[name].input[0]]  # DequantizeLinear <- QuantizeLinear
        params.add((float(inits[q.input[1]]), int(inits[q.input[2]])))
    assert len(params) == 1, params
    weights = [w for w in inits.values() if w.dtype == np.int8 and w.ndim == 4]
    assert weights and max(int(np.abs(w.astype(int)).max()) for w in weights) == 63
    assert read_manifest(shared_artifacts["onnx-int8"]).int16_modules == ()


def test_one_session_serves_every_scale(shared_artifacts, weights):
    """The ONNX runner feeds the scale; a wrong scale is refused before running."""
    x = np.random.default_rng(2).random((1, 3, 16, 20), dtype=np.float32)
    with open_runner(shared_artifacts["onnx-fp32"], 3) as runner:
        assert runner.run(x).shape == (1, 3, 48, 60)
    with pytest.raises(ScaleError, match="x2, x3, x4, not x5"):
        open_runner(shared_artifacts["onnx-fp32"], 5)


def test_single_scale_models_and_formats_refuse_several_scales(weights):
    with pytest.raises(ExportError, match="one network per scale"):
        export_model("espcn", (2, 3), "onnx", "unused", weights=weights["espcn"])
    with pytest.raises(ExportError, match="equal output shapes"):
        export_model("masrn", (2, 4), "tensorrt", "unused", weights=weights["masrn"])


@pytest.mark.parametrize("kind", ["onnx-fp32", "tflite-fp32"])
def test_switch_scale_without_reloading(shared_artifacts, weights, kind):
    x = np.random.default_rng(3).random((1, 3, 64, 64), dtype=np.float32)
    with open_runner(shared_artifacts[kind], 2) as runner:
        session = getattr(runner, "session", None) or runner.interpreter
        for scale in (4, 3, 2):
            runner.switch(scale)
            np.testing.assert_allclose(runner.run(x), _reference(weights, scale, x), atol=1e-4)
        assert (getattr(runner, "session", None) or runner.interpreter) is session
        with pytest.raises(ScaleError, match="not x5"):
            runner.switch(5)
    with open_runner(shared_artifacts["onnx-x2"]) as single, pytest.raises(ScaleError, match="serves x2 only"):
        single.switch(4)

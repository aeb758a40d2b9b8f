"""The quality the README states for the shipped models quantized, held as bounds on whatever CPU
runs the tests: Set5 dPSNR against PyTorch FP32 of the shipped float weights, through the exporter's
own check (the artifact's output against the HR images, minus PyTorch's).

INT8 is edgesr's one scheme (``edgesr.train.qat``: every activation 8-bit, 63-step weights), made
as a user gets it by default: the shipped QAT weights, edgesr's ranges. Every INT8 bound is 0.10 dB,
at every scale and in every runtime: ONNX Runtime, LiteRT, OpenVINO and ExecuTorch (one shared-trunk
artifact each, the three scales: the docs' commands, run by tests/test_doc_commands.py, and ExecuTorch
with 32 calibration images here), the single-scale ONNX graph at x2 (the hardest scale), the
symmetric form TensorRT takes (run by ONNX Runtime, as TensorRT needs a GPU), Core ML W8A8
(emulated: it predicts only on macOS) and asym_vdsr x4. W8A16 (float weights) is held to 0.02 dB.
"""

import pytest

from edgesr.conversion.api import export_model
from edgesr.manifest import read_manifest
from tests.benchmark_scripts import load

INT8_BOUND_DB = 0.10  # every INT8 artifact, every scale, every runtime
W8A16_BOUND_DB = 0.02
RUNTIME = {"onnx": "onnxruntime", "tflite": "litert_torch", "openvino": "openvino", "executorch": "executorch.runtime"}
pytestmark = pytest.mark.slow


def _losses(fmt, precision, scales, data_root, out, model="masrn", **kw) -> dict[int, float]:
    pytest.importorskip(RUNTIME[fmt])
    art = export_model(model, scales if len(scales) > 1 else scales[0], fmt, out, precision=precision,
                       data_root=str(data_root), **kw)
    check = read_manifest(art).check
    per_scale = check.get("per_scale") or {f"x{scales[0]}": check}
    return {s: per_scale[f"x{s}"]["dpsnr"] for s in scales}


def _assert_within(losses: dict[int, float], bound: float, what: str) -> None:
    bad = {s: round(loss, 3) for s, loss in losses.items() if loss < -bound}
    assert not bad, f"{what}: {bad} dB, beyond -{bound} dB (all: { {s: round(v, 3) for s, v in losses.items()} })"


def test_shared_trunk_int8_executorch(data_root, tmp_path):
    """``edgesr export -m masrn --scales 2,3,4 -f executorch -p int8 --calib-images 32`` (the bench's
    32 calibration images): one artifact for every scale, each within 0.10 dB of PyTorch. The same
    bound holds the shared-trunk INT8 artifacts of the docs' own commands, as a user types them
    (ONNX, LiteRT at its default 128x128, OpenVINO, ExecuTorch): ``tests/test_doc_commands.py`` runs
    them and reads each scale's dPSNR from their manifests. OpenVINO on an Intel Xeon with AMX
    failed there at -2.2 dB (x2) until edgesr kept its oneDNN off AMX
    (``edgesr.formats.openvino.ISA_CAP``)."""
    _assert_within(_losses("executorch", "int8", (2, 3, 4), data_root, tmp_path, calib_images=32), INT8_BOUND_DB,
                   "executorch int8")


def test_onnx_single_scale_int8(data_root, tmp_path):
    """``edgesr export -m masrn -s 2 -f onnx -p int8`` with no other option (dynamic H/W)."""
    _assert_within(_losses("onnx", "int8", (2,), data_root, tmp_path), INT8_BOUND_DB, "onnx int8")


def test_eight_calibration_images_as_good_as_64(data_root, tmp_path):
    """``--calib-images 8`` lands within 0.05 dB of the default 64 (masrn x2 ONNX INT8, float weights:
    the ranges come from whole images, not from a few random crops)."""
    few = _losses("onnx", "int8", (2,), data_root, tmp_path / "8", calib_images=8, quant="ptq")[2]
    many = _losses("onnx", "int8", (2,), data_root, tmp_path / "64", quant="ptq")[2]
    assert abs(few - many) <= 0.05, (few, many)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_tensorrt_symmetric_form(scale, data_root, tmp_path):
    """The ONNX graph a TensorRT INT8 engine is built from (the scheme with zero points of 0, from
    the same QAT weights and ranges), run by ONNX Runtime's int8 kernels on the CPU."""
    pytest.importorskip("onnxruntime")
    import onnx

    symmetric = load("tensorrt_symmetric")  # the benchmark that publishes these numbers
    out = symmetric.export_symmetric(scale, str(data_root), tmp_path)
    graph = onnx.load(str(out)).graph  # the image stays float: nothing rounds the input or the output
    producer = {o: n.op_type for n in graph.node for o in n.output}
    assert producer[graph.output[0].name] != "DequantizeLinear"
    assert not [n for n in graph.node if n.op_type == "QuantizeLinear" and n.input[0] == graph.input[0].name]
    loss = symmetric.dpsnr(out, scale, str(data_root))
    _assert_within({scale: loss}, INT8_BOUND_DB, "symmetric int8 (TensorRT's graph)")


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_w8a16_shared_trunk(fmt, data_root, tmp_path):
    """``edgesr export -m masrn --scales 2,3,4 -f F -p w8a16`` (16-bit activations, float weights)."""
    kw = {"lr_size": (64, 64)} if fmt == "tflite" else {}
    _assert_within(_losses(fmt, "w8a16", (2, 3, 4), data_root, tmp_path, **kw), W8A16_BOUND_DB, f"{fmt} w8a16")


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_asym_vdsr_int8(fmt, data_root, tmp_path):
    """``edgesr export -m asym_vdsr -s 4 -f F -p int8`` (LiteRT: ``--input-size 64x64``): the shipped QAT
    weights, the default for both formats."""
    kw = {"lr_size": (64, 64)} if fmt == "tflite" else {}
    _assert_within(_losses(fmt, "int8", (4,), data_root, tmp_path, model="asym_vdsr", **kw), INT8_BOUND_DB,
                   f"asym_vdsr {fmt} int8")


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_coreml_w8a8_emulated(scale, data_root):
    """``edgesr export -m masrn -s S -f coreml -p w8a8``'s network, emulated (Core ML predicts only on
    macOS): benchmarks/coreml_w8a8.py's rows."""
    pytest.importorskip("coremltools")
    from edgesr.data.datasets import find_images
    from edgesr.evaluation.compare import compare_with_truth
    from edgesr.conversion.api import choose_weights
    from edgesr.inference import torch_upscaler
    from edgesr.models.weights import load_model

    bench = load("coreml_w8a8")
    model = load_model("masrn", scale, choose_weights("masrn", scale, "coreml", "w8a8")[0])
    upscale, _ = bench.emulated_upscaler(model, scale, 64, str(data_root), pure_int8=True)
    loss = compare_with_truth(upscale, torch_upscaler(load_model("masrn", scale)), find_images("Set5", str(data_root)),
                              scale)[1]
    _assert_within({scale: loss}, INT8_BOUND_DB, "coreml w8a8")

"""The quality the README states for the shipped masrn quantized, held as bounds on whatever CPU
runs the tests: Set5 dPSNR against PyTorch FP32, through the exporter's own check (the artifact's
output against the HR images, minus PyTorch's). An -0.95 dB INT8 on a CPU without VNNI fails here.

INT8 is measured as a user gets it by default (the shipped QAT weights for the formats they are
shipped for, else the float ones; 16-bit activations in masrn's Upscale and Refine stages),
single-scale ONNX at every scale and the shared-trunk ONNX and LiteRT artifacts, and with
``--quant qat`` on LiteRT; asym_vdsr x4 on both; W8A16 from the float weights, both formats; the
shared OpenVINO artifact and ExecuTorch x4 as ``edgesr bench`` makes it.
"""

import pytest

from edgesr.export.api import export_model
from edgesr.export.manifest import read_manifest

# the worst Set5 dPSNR (dB, against PyTorch FP32 of the shipped float weights) allowed, per format,
# precision and scale: the INT8 acceptance bound, 0.10 dB. Measured on an AMD EPYC with AVX2 only, no
# VNNI (2026-12-01), INT8 at x2 / x3 / x4: ONNX single-scale (QAT weights) -0.033 / -0.029 / -0.006,
# ONNX shared -0.047 / -0.030 / -0.002, LiteRT shared (float weights) see README; W8A16 (float weights)
# ONNX -0.010 / -0.005 / -0.008, LiteRT -0.010 / -0.005 / -0.009.
BOUND_DB = {
    ("onnx", "int8"): {2: 0.10, 3: 0.10, 4: 0.10},
    ("coreml", "w8a8"): {2: 0.10, 3: 0.10, 4: 0.10},
    ("tflite", "int8"): {2: 0.10, 3: 0.10, 4: 0.10},
    ("onnx", "w8a16"): {2: 0.02, 3: 0.02, 4: 0.02},
    ("tflite", "w8a16"): {2: 0.02, 3: 0.02, 4: 0.02},
    # every activation 8-bit (their runtimes lose more with 16-bit parts, or have none): x2 and x3 miss
    # the 0.10 target; measured (2026-12-02, same CPU) OpenVINO shared, QAT weights -0.207 / -0.103 /
    # -0.044; ExecuTorch x4 -0.074 (64 crops), -0.081 (bench, 32 crops), shared -0.213 / -0.146 / -0.075
    ("openvino", "int8"): {2: 0.25, 3: 0.15, 4: 0.10},
    ("executorch", "int8"): {4: 0.10},
}
pytestmark = pytest.mark.slow


def _losses(fmt, precision, scales, data_root, out, model="masrn", **kw) -> dict[int, float]:
    pytest.importorskip({"onnx": "onnxruntime", "tflite": "litert_torch", "openvino": "openvino",
                         "executorch": "executorch.runtime"}[fmt])
    art = export_model(model, scales if len(scales) > 1 else scales[0], fmt, out, precision=precision,
                       data_root=str(data_root), **kw)
    check = read_manifest(art).check
    per_scale = check.get("per_scale") or {f"x{scales[0]}": check}
    return {s: per_scale[f"x{s}"]["dpsnr"] for s in scales}


@pytest.mark.parametrize("precision", ["int8", "w8a16"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_onnx_single_scale(precision, scale, data_root, tmp_path):
    """``edgesr export -m masrn -s S -f onnx -p P`` with no other option (dynamic H/W, 64 calibration images)."""
    loss = _losses("onnx", precision, (scale,), data_root, tmp_path)[scale]
    assert loss >= -BOUND_DB["onnx", precision][scale], f"x{scale} {precision}: {loss:+.3f} dB"


def test_eight_calibration_images_as_good_as_64(data_root, tmp_path):
    """``--calib-images 8`` lands within 0.05 dB of the default 64 (masrn x2 ONNX INT8, float weights:
    the ranges come from whole images, not from a few random crops)."""
    few = _losses("onnx", "int8", (2,), data_root, tmp_path / "8", calib_images=8, quant="ptq")[2]
    many = _losses("onnx", "int8", (2,), data_root, tmp_path / "64", quant="ptq")[2]
    assert abs(few - many) <= 0.05, (few, many)


def test_onnx_shared_trunk_int8(data_root, tmp_path):
    """``edgesr export -m masrn --scales 2,3,4 -f onnx -p int8``: one graph, the scale an input."""
    losses = _losses("onnx", "int8", (2, 3, 4), data_root, tmp_path)
    for scale, loss in losses.items():
        assert loss >= -BOUND_DB["onnx", "int8"][scale], f"x{scale} int8: {loss:+.3f} dB"


@pytest.mark.parametrize("precision,quant", [("int8", "auto"), ("int8", "qat"), ("w8a16", "auto")])
def test_tflite_shared_trunk(precision, quant, data_root, tmp_path):
    """``edgesr export -m masrn --scales 2,3,4 -f tflite -p P [--quant qat] --input-size 64x64``: one
    artifact, three signatures; int8 from the float weights (the default) and from the QAT weights
    trained on LiteRT's 8-bit weight grid (held to the float weights' PyTorch output)."""
    losses = _losses("tflite", precision, (2, 3, 4), data_root, tmp_path, lr_size=(64, 64), quant=quant)
    for scale, loss in losses.items():
        assert loss >= -BOUND_DB["tflite", precision][scale], f"x{scale} {precision} {quant}: {loss:+.3f} dB"


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_asym_vdsr_int8(fmt, data_root, tmp_path):
    """``edgesr export -m asym_vdsr -s 4 -f F -p int8`` (LiteRT: ``--input-size 64x64``): the shipped QAT
    weights, the default for both formats."""
    kw = {"lr_size": (64, 64)} if fmt == "tflite" else {}
    loss = _losses(fmt, "int8", (4,), data_root, tmp_path, model="asym_vdsr", **kw)[4]
    assert loss >= -BOUND_DB[fmt, "int8"][4], f"asym_vdsr x4 {fmt} int8: {loss:+.3f} dB"


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_coreml_w8a8_emulated(scale, data_root):
    """``edgesr export -m masrn -s S -f coreml -p w8a8``'s network, emulated (Core ML predicts only on
    macOS): benchmarks/coreml_w8a8.py's rows, measured x2 / x3 / x4 -0.052 / -0.050 / -0.032."""
    import importlib.util
    from pathlib import Path

    pytest.importorskip("coremltools")
    from edgesr.data.datasets import find_images
    from edgesr.evaluation.compare import compare_with_truth
    from edgesr.inference import torch_upscaler
    from edgesr.models.weights import load_model

    script = Path(__file__).resolve().parents[2] / "benchmarks" / "coreml_w8a8.py"
    spec = importlib.util.spec_from_file_location("coreml_w8a8", script)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    model = load_model("masrn", scale)
    upscale, _ = bench.emulated_upscaler(model, scale, 64, str(data_root), pure_int8=False)
    loss = compare_with_truth(upscale, torch_upscaler(model), find_images("Set5", str(data_root)), scale)[1]
    assert loss >= -BOUND_DB["coreml", "w8a8"][scale], f"x{scale} coreml w8a8: {loss:+.3f} dB"


def test_openvino_shared_trunk_int8(data_root, tmp_path):
    """``edgesr export -m masrn --scales 2,3,4 -f openvino -p int8``: the QAT weights (the default)."""
    losses = _losses("openvino", "int8", (2, 3, 4), data_root, tmp_path)
    for scale, loss in losses.items():
        assert loss >= -BOUND_DB["openvino", "int8"][scale], f"x{scale} int8: {loss:+.3f} dB"


def test_executorch_int8_as_benched(data_root, tmp_path):
    """``edgesr bench``'s ExecuTorch INT8 row: x4 with the bench's 32 calibration images (at the default
    128x128 input)."""
    loss = _losses("executorch", "int8", (4,), data_root, tmp_path, calib_images=32)[4]
    assert loss >= -BOUND_DB["executorch", "int8"][4], f"x4 int8: {loss:+.3f} dB"


def test_tflite_pure_int8(data_root, tmp_path):
    """``edgesr export -m masrn -s 4 -f tflite -p int8 --pure-int8``: every activation 8-bit, what the
    README advises for LiteRT on a CPU (XNNPACK has no 16-bit kernels)."""
    loss = _losses("tflite", "int8", (4,), data_root, tmp_path, pure_int8=True)[4]
    assert loss >= -BOUND_DB["tflite", "int8"][4], f"x4 pure int8: {loss:+.3f} dB"

"""The quality the README states for the shipped masrn quantized, held as bounds on whatever CPU
runs the tests: Set5 dPSNR against PyTorch FP32, through the exporter's own check (the artifact's
output against the HR images, minus PyTorch's). An -0.95 dB INT8 on a CPU without VNNI fails here.

INT8 is measured as a user gets it by default (the shipped QAT weights for the formats they are
shipped for, else the float ones; 16-bit activations in masrn's Upscale and Refine stages),
single-scale ONNX at every scale and the shared-trunk ONNX and LiteRT artifacts; W8A16 from the
float weights, both formats.
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
    ("tflite", "int8"): {2: 0.10, 3: 0.10, 4: 0.10},
    ("onnx", "w8a16"): {2: 0.02, 3: 0.02, 4: 0.02},
    ("tflite", "w8a16"): {2: 0.02, 3: 0.02, 4: 0.02},
}
pytestmark = pytest.mark.slow


def _losses(fmt, precision, scales, data_root, out, **kw) -> dict[int, float]:
    pytest.importorskip("onnxruntime" if fmt == "onnx" else "litert_torch")
    art = export_model("masrn", scales if len(scales) > 1 else scales[0], fmt, out, precision=precision,
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


@pytest.mark.parametrize("precision", ["int8", "w8a16"])
def test_tflite_shared_trunk(precision, data_root, tmp_path):
    """``edgesr export -m masrn --scales 2,3,4 -f tflite -p P --input-size 64x64``: one artifact, three signatures."""
    losses = _losses("tflite", precision, (2, 3, 4), data_root, tmp_path, lr_size=(64, 64))
    for scale, loss in losses.items():
        assert loss >= -BOUND_DB["tflite", precision][scale], f"x{scale} {precision}: {loss:+.3f} dB"

"""The quality the README states for the shipped masrn quantized, held as bounds on whatever CPU
runs the tests: Set5 dPSNR against PyTorch FP32, through the exporter's own check (the artifact's
output against the HR images, minus PyTorch's). An -0.95 dB INT8 on a CPU without VNNI fails here.

INT8 is measured as a user gets it by default (the shipped QAT weights where they exist, else the
float ones), single-scale ONNX at every scale and the shared-trunk LiteRT artifact; W8A16 from the
float weights, both formats.
"""

import pytest

from edgesr.export.api import export_model
from edgesr.export.manifest import read_manifest

# the worst Set5 dPSNR (dB, against PyTorch FP32 of the shipped float weights) allowed, per format,
# precision and scale. Measured on an AMD EPYC with AVX2 only, no VNNI (2026-12-01), QAT weights for INT8:
# ONNX single-scale -0.176 / -0.092 / -0.043 at x2 / x3 / x4; LiteRT shared -0.228 / -0.192 / -0.090;
# W8A16 (float weights) ONNX -0.010 / -0.005 / -0.008, LiteRT -0.010 / -0.005 / -0.009. The INT8 bounds at x2 and x3 are above the
# issue's 0.10 dB target, which the shipped INT8 does not reach there yet.
BOUND_DB = {
    ("onnx", "int8"): {2: 0.25, 3: 0.15, 4: 0.10},
    ("tflite", "int8"): {2: 0.30, 3: 0.25, 4: 0.15},
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


@pytest.mark.parametrize("precision", ["int8", "w8a16"])
def test_tflite_shared_trunk(precision, data_root, tmp_path):
    """``edgesr export -m masrn --scales 2,3,4 -f tflite -p P --input-size 64x64``: one artifact, three signatures."""
    losses = _losses("tflite", precision, (2, 3, 4), data_root, tmp_path, lr_size=(64, 64))
    for scale, loss in losses.items():
        assert loss >= -BOUND_DB["tflite", precision][scale], f"x{scale} {precision}: {loss:+.3f} dB"

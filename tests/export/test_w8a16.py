"""W8A16 (int8 weights, int16 activations) for ONNX and LiteRT: what the artifacts hold, and that
they compute the float network to a fraction of a grey level."""

import numpy as np
import pytest

from edgesr.conversion.api import export_model
from edgesr.formats.registry import open_runner
from edgesr.inference import upscale
from edgesr.manifest import read_manifest


@pytest.fixture(scope="module")
def w8a16(tmp_path_factory, weights, data_root):
    out = tmp_path_factory.mktemp("w8a16")
    found = {}
    for fmt, module in (("onnx", "onnxruntime"), ("tflite", "litert_torch")):
        try:
            __import__(module)
        except ImportError:
            continue
        for precision in ("fp32", "w8a16"):
            found[fmt, precision] = export_model("espcn", 2, fmt, out, precision=precision, weights=weights["espcn"],
                                                 lr_size=(24, 24), calib_images=8, data_root=str(data_root))
    return found


@pytest.mark.slow
def test_onnx_holds_uint16_activations_and_int8_weights(w8a16):
    if ("onnx", "w8a16") not in w8a16:
        pytest.skip("the onnx extra is not installed")
    import onnx

    path = w8a16["onnx", "w8a16"]
    model = onnx.load(str(path))
    types = {t.data_type for t in model.graph.initializer}
    assert onnx.TensorProto.UINT16 in types and onnx.TensorProto.INT8 in types  # zero points, weights
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 21
    manifest = read_manifest(path)
    assert manifest.precision == "w8a16" and "uint16" in manifest.quantization and manifest.quant_method == "ptq"


@pytest.mark.slow
def test_tflite_is_16x8_full_integer(w8a16):
    if ("tflite", "w8a16") not in w8a16:
        pytest.skip("the tflite extra is not installed")
    from ai_edge_litert.interpreter import Interpreter

    manifest = read_manifest(w8a16["tflite", "w8a16"])
    assert manifest.input.dtype == manifest.output.dtype == "int16"
    assert manifest.input.quantization[1] == 0  # symmetric
    kinds = {np.dtype(t["dtype"]).name for t in Interpreter(model_path=str(w8a16["tflite", "w8a16"])).get_tensor_details()}
    assert "float32" not in kinds and "int16" in kinds


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
@pytest.mark.slow
def test_w8a16_is_within_a_grey_level_of_fp32(w8a16, fmt, photo):
    if (fmt, "w8a16") not in w8a16:
        pytest.skip(f"the {fmt} extra is not installed")
    lr = photo[:24, :24]
    with open_runner(w8a16[fmt, "fp32"]) as fp32, open_runner(w8a16[fmt, "w8a16"]) as w16:
        a, b = upscale(fp32, lr), upscale(w16, lr)
    assert np.abs(a.y.astype(float) - b.y).mean() < 0.5

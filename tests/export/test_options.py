"""ExportOptions (issue 37): every option of an export built and checked once, by the CLI and the Python
API alike, before PyTorch is imported; and a pipeline that asks the format rather than inspecting code."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from edgesr.errors import ExportError
from edgesr.conversion.options import ExportOptions

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "edgesr"


def test_scales_are_always_a_tuple_and_defaults_come_from_the_format():
    one = ExportOptions.build(4, "onnx")
    assert one.scales == (4,) and one.precision == "fp32" and not one.shared and one.io_mode == "tensor"
    several = ExportOptions.build([2, 3, 4, 3], "tflite", input_size=(64, 48), weights=Path("w.safetensors"))
    assert several.scales == (2, 3, 4) and several.shared and several.input_sizes == ((64, 48),)
    assert several.weights == "w.safetensors"
    assert ExportOptions.build(2, "tensorrt").precision == "fp16"
    assert ExportOptions.build(2, "coreml", input_size=[(32, 32), (64, 64)]).input_sizes == ((32, 32), (64, 64))
    with pytest.raises(Exception):  # frozen: built once, never changed
        one.precision = "int8"


@pytest.mark.parametrize("args, kwargs, message", [
    ((4, "pt"), {}, "unknown format 'pt'"),
    ((4, "tensorrt"), {"precision": "fp32"}, "tensorrt does not take precision 'fp32'"),
    (("4", "onnx"), {}, "scale must be a whole number"),
    ((True, "onnx"), {}, "scale must be a whole number"),
    ((4, "onnx"), {"input_size": (0, 64)}, "whole numbers above 0"),
    ((4, "onnx"), {"input_size": "64x64"}, "input_size takes"),
    ((4, "onnx"), {"input_size": [(32, 32), (64, 64)]}, "onnx takes one input size, not 2"),
    ((4, "onnx"), {"profile": [(16, 16), (64, 64), (256, 256)]}, "an optimization profile is for tensorrt"),
    ((4, "tensorrt"), {"profile": [(16, 16), (64, 64)]}, "three sizes"),
    ((4, "onnx"), {"calib_images": 0}, "calib_images must be a whole number >= 1"),
    ((4, "onnx"), {"quant": "awq"}, "unknown quantization method 'awq'"),
    ((4, "onnx"), {"quant": "qat"}, "--quant qat is for quantized precisions"),
    ((4, "onnx"), {"pure_int8": True}, "--pure-int8 is for onnx's int8 activations"),
    ((4, "onnx"), {"io": "image"}, "onnx artifacts take --io tensor, not 'image'; --io image is for coreml"),
    ((4, "tflite"), {"io": "uint8", "precision": "fp32"}, "uint8"),
    ((4, "onnx"), {"check": "yes"}, "check must be True or False"),
])
def test_a_wrong_option_is_one_line(args, kwargs, message):
    with pytest.raises(ExportError, match=None) as info:
        ExportOptions.build(*args, **kwargs)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_an_unknown_option_is_a_type_error():
    with pytest.raises(TypeError, match="calib_imgs"):
        ExportOptions.build(4, "onnx", calib_imgs=8)


def test_building_options_imports_no_torch():
    code = ("import sys\nfrom edgesr.conversion.options import ExportOptions\n"
            "ExportOptions.build((2, 3, 4), 'tflite', precision='int8', io='uint8')\n"
            "print('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_the_pipeline_asks_the_format():
    """No signature inspection, no sys.modules fishing, no "module:function" targets: the export
    pipeline and the format table call the Format interface."""
    for path in (PACKAGE / "conversion" / "api.py", PACKAGE / "formats" / "__init__.py", PACKAGE / "formats" / "base.py"):
        tree = ast.parse(path.read_text())
        names = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert not {"signature", "modules", "import_module"} & names, path
        strings = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        assert not [s for s in strings if s.startswith("edgesr.") and ":" in s], path

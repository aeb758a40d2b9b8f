"""LiteRT (TFLite) export through Google's PyTorch route (litert-torch), NHWC at the boundary.

FP32 as converted; FP16 as float16 weights (ai-edge-quantizer's float-casting recipe); INT8 as full
integer (int8 input and output, every op integer) with ai-edge-quantizer's static w8/a8 recipe,
calibrated on real crops. Shapes are fixed: a pixel shuffle keeps litert-torch from dynamic H/W,
so larger images run as tiles.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgesr._deps import require
from edgesr.errors import ExportError
from edgesr.export.common import atomic_output, network_for_scale
from edgesr.export.manifest import TensorSpec


def _convert(net: nn.Module, channels: int, size: tuple[int, int], path: Path) -> None:
    litert_torch = require("litert_torch", "tflite", "litert-torch")
    nhwc = litert_torch.to_channel_last_io(net, args=[0], outputs=[0]).eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        edge = litert_torch.convert(nhwc, (torch.rand(1, *size, channels),))
    edge.export(str(path))


def _quantize(src: Path, dst: Path, precision: str, calibration: list[np.ndarray] | None) -> None:
    require("ai_edge_quantizer", "tflite", "ai-edge-quantizer")
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import qtyping, quantizer, recipe, recipe_manager
    from ai_edge_quantizer.algorithm_manager import AlgorithmName

    qt = quantizer.Quantizer(str(src))
    if precision == "fp16":
        manager = recipe_manager.RecipeManager()
        manager.add_weight_only_config(regex=".*", operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
                                       num_bits=16, algorithm_key=AlgorithmName.FLOAT_CASTING)
        qt.load_quantization_recipe(manager.get_quantization_recipe())
        result = qt.quantize()
    else:
        qt.load_quantization_recipe(recipe.static_wi8_ai8())
        signatures = Interpreter(model_path=str(src)).get_signature_list()
        key = next(iter(signatures))
        name = signatures[key]["inputs"][0]
        data = {key: [{name: x.transpose(0, 2, 3, 1).astype(np.float32)} for x in calibration]}
        result = qt.quantize(qt.calibrate(data))
    result.export_model(str(dst), overwrite=True)


def _io_specs(path: Path, channels: int) -> tuple[TensorSpec, TensorSpec]:
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    specs = []
    for detail in (it.get_input_details()[0], it.get_output_details()[0]):
        _, h, w, c = (int(v) for v in detail["shape"])
        dtype = np.dtype(detail["dtype"]).name
        scale, zero = detail["quantization"]
        quant = (float(scale), int(zero)) if dtype in ("int8", "uint8") else None
        specs.append(TensorSpec(detail["name"], "NHWC", dtype, c, h, w, quantization=quant))
    if any(s.dtype in ("float32", "float16") for s in specs) != all(s.dtype in ("float32", "float16") for s in specs):
        raise ExportError(f"{path.name}: mixed float and integer I/O")
    return specs[0], specs[1]


def export_tflite(model: nn.Module, out: Path, *, scale: int, precision: str = "fp32",
                  input_size: tuple[int, int] | None = None,
                  calibration: list[np.ndarray] | None = None) -> tuple[TensorSpec, TensorSpec]:
    """Write ``model`` at ``scale`` to ``out`` for a fixed network input ``input_size`` (H, W)."""
    if input_size is None:
        raise ExportError("tflite needs a fixed input size")
    net = network_for_scale(model, scale)
    channels = model.spec.channels
    with atomic_output(out) as tmp:
        if precision == "fp32":
            _convert(net, channels, input_size, tmp)
        else:
            if precision == "int8" and not calibration:
                raise ExportError("int8 export needs calibration inputs")
            with tempfile.TemporaryDirectory() as d:
                fp32 = Path(d) / "fp32.tflite"
                _convert(net, channels, input_size, fp32)
                _quantize(fp32, tmp, precision, calibration)
        inp, outp = _io_specs(tmp, channels)
    if precision == "int8" and not (inp.dtype == outp.dtype == "int8"):
        raise ExportError(f"int8 export left {inp.dtype} input / {outp.dtype} output; expected full integer")
    return inp, outp

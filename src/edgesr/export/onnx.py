"""ONNX export: the official ``torch.onnx`` (dynamo) exporter, simplified with onnxslim; INT8 as
static QDQ with per-channel weights through ``onnxruntime.quantization``."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgesr._deps import require
from edgesr.export.common import atomic_output, network_for_scale
from edgesr.export.manifest import TensorSpec

INPUT, OUTPUT = "input", "output"


def _to_onnx(net: nn.Module, channels: int, size: tuple[int, int] | None, path: Path) -> None:
    onnx = require("onnx", "onnx")
    require("onnxscript", "onnx")
    sample = torch.rand(1, channels, *(size or (64, 64)))
    dynamic = None
    if size is None:
        h, w = torch.export.Dim("height", min=4, max=8192), torch.export.Dim("width", min=4, max=8192)
        dynamic = {"x": {2: h, 3: w}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (sample,), str(path), dynamo=True, external_data=False, optimize=True,
                          input_names=[INPUT], output_names=[OUTPUT], dynamic_shapes=dynamic, verbose=False)
    model = onnx.load(str(path))
    slim = require("onnxslim", "onnx")
    model = slim.slim(model)
    onnx.save(model, str(path))


def _to_fp16(path: Path) -> None:
    onnx = require("onnx", "onnx")
    from onnxruntime.transformers.float16 import convert_float_to_float16

    onnx.save(convert_float_to_float16(onnx.load(str(path)), keep_io_types=True), str(path))


def _quantize(src: Path, dst: Path, calibration: list[np.ndarray]) -> None:
    quant = require("onnxruntime.quantization", "onnx", "onnxruntime")
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(quant.CalibrationDataReader):
        def __init__(self) -> None:
            self._items = iter([{INPUT: x} for x in calibration])

        def get_next(self):
            return next(self._items, None)

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        quant.quantize_static(str(pre), str(dst), Reader(), quant_format=quant.QuantFormat.QDQ, per_channel=True,
                              activation_type=quant.QuantType.QUInt8, weight_type=quant.QuantType.QInt8,
                              calibrate_method=quant.CalibrationMethod.MinMax)


def export_onnx(model: nn.Module, out: Path, *, scale: int, precision: str = "fp32",
                input_size: tuple[int, int] | None = None,
                calibration: list[np.ndarray] | None = None) -> tuple[TensorSpec, TensorSpec]:
    """Write ``model`` at ``scale`` to ``out``; ``input_size`` (the network's H, W) fixes the shape,
    ``None`` keeps H and W dynamic. Returns the input and output tensor specs."""
    net = network_for_scale(model, scale)
    channels = model.spec.channels
    with atomic_output(out) as tmp:
        if precision == "int8":
            if not calibration:
                raise ValueError("int8 export needs calibration inputs")
            with tempfile.TemporaryDirectory() as d:
                fp32 = Path(d) / "fp32.onnx"
                _to_onnx(net, channels, input_size, fp32)
                _quantize(fp32, tmp, calibration)
        elif precision == "fp16":
            _to_onnx(net, channels, input_size, tmp)
            _to_fp16(tmp)
        else:
            _to_onnx(net, channels, input_size, tmp)
    h, w = input_size or (None, None)
    f = 1 if model.spec.upsampling == "pre" else scale
    return (TensorSpec(INPUT, "NCHW", "float32", channels, h, w),
            TensorSpec(OUTPUT, "NCHW", "float32", channels, h * f if h else None, w * f if w else None))

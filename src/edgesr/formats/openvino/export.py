"""OpenVINO IR export: the ONNX graph edgesr writes (``edgesr.formats.onnx.export``) converted with
``openvino.convert_model`` and saved with ``openvino.save_model``.

An OpenVINO model is two files, the graph (``.xml``) and its weights (``.bin``); edgesr's artifact is
the folder holding both (``model.xml`` and ``model.bin``), so that it is written, hashed (sha256 over
the folder) and renamed into place as one thing, as a Core ML package is. Runtimes load
``<artifact>/model.xml``.

Precisions: ``fp32``; ``fp16`` (``compress_to_fp16``: float16 weights, decompressed to float32 on
load; the CPU plugin then computes in float32, as edgesr's runner asks); ``int8``: the QDQ graph
:func:`edgesr.formats.onnx.export.export_onnx` writes in edgesr's INT8 scheme (``edgesr.train.qat``: every
activation 8-bit over edgesr's ranges, the ones QAT trains with; weights on the 63-step grid), which
OpenVINO turns into FakeQuantize ops and its CPU plugin runs as int8 kernels. Measured on an AMD
EPYC (AVX2, no VNNI), masrn x4 at 128x128 from edgesr's graph: 8-bit weights came out 2.7 grey
levels (mean) from the graph's own arithmetic, 16.0 with symmetric activations (16-bit
saturation of x86 int8 kernels without VNNI); on the 63-step grid the kernels cannot saturate. Two
things its CPU plugin does that the scheme leaves out: it requantizes a concatenation's inputs onto
the concatenation's grid, and every other reader of such a tensor then reads the requantized one
(the scheme puts them on that grid from the start, so this changes nothing), and it fuses a
convolution with the addition reading it (oneDNN's sum post-op), skipping the rounding between the
two (a little closer to float than the other runtimes). NNCF's post-training quantization of the
float IR was measured too and lost more (-0.11 dB with ``OverflowFix.ENABLE``, i.e. 7-bit weights;
-2.21 dB with 8-bit weights).

The ONNX route (rather than converting the PyTorch module directly, which also matches PyTorch)
keeps the pixel shuffle as one DepthToSpace op (directly: reshapes and transposes) and gives the
shared-trunk artifact its If on the scale input, whose trunk is stored and run once.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from torch import nn

from edgesr._deps import require
from edgesr._files import atomic_folder
from edgesr.formats.onnx.export import export_onnx, export_onnx_shared
from edgesr.formats.openvino.metadata import GRAPH
from edgesr.manifest import Head, TensorSpec


def _ov():
    return require("openvino", "openvino")


def _save(ov_model, out: Path, precision: str) -> None:
    """Write ``ov_model`` as the folder ``out`` (model.xml + model.bin), whole or not at all."""
    ov = _ov()
    with atomic_folder(out) as tmp:
        tmp.mkdir()
        ov.save_model(ov_model, str(tmp / GRAPH), compress_to_fp16=precision == "fp16")


def _from_onnx(path: Path):
    return _ov().convert_model(str(path))


def export_openvino(model: nn.Module, out: Path, *, scale: int, precision: str = "fp32",
                    input_size: tuple[int, int] | None = None,
                    calibration: list[np.ndarray] | None = None,
                    range_inputs: list[np.ndarray] | None = None) -> tuple[TensorSpec, TensorSpec]:
    """Write ``model`` at ``scale`` as the IR folder ``out``; ``input_size`` (the network's H, W)
    fixes the shape, ``None`` keeps H and W dynamic. INT8 is ONNX Runtime's QDQ graph with edgesr's
    ranges, measured on ``range_inputs`` (default: ``calibration``), every activation 8-bit (see the
    module's docstring). Returns the input and output tensor specs."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "model.onnx"
        if precision == "int8":
            specs = export_onnx(model, path, scale=scale, precision="int8", input_size=input_size,
                                calibration=calibration, range_inputs=range_inputs, pure_int8=True)
        else:
            specs = export_onnx(model, path, scale=scale, precision="fp32", input_size=input_size)
        _save(_from_onnx(path), out, precision)
    return specs


def export_openvino_shared(model: nn.Module, out: Path, *, scales: tuple[int, ...], precision: str = "fp32",
                           input_size: tuple[int, int] | None = None,
                           calibration: dict[int, list[np.ndarray]] | None = None,
                           range_inputs: dict[int, list[np.ndarray]] | None = None) -> tuple[tuple[Head, ...], str]:
    """A multi-scale ``model`` as one IR with inputs ``input`` and ``scale`` (an int64 scalar): the
    ONNX shared-trunk graph (trunk -> If on the scale -> tail, the trunk stored and run once)
    converted; INT8 as in :func:`export_openvino`, per part."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "shared.onnx"
        quantized = precision == "int8"
        heads, scale_input = export_onnx_shared(model, path, scales=scales, precision="int8" if quantized else "fp32",
                                                input_size=input_size, calibration=calibration,
                                                range_inputs=range_inputs, pure_int8=True)
        _save(_from_onnx(path), out, precision)
    return heads, scale_input

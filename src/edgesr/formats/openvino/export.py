"""OpenVINO IR export: the ONNX graph edgesr writes (``edgesr.formats.onnx.export``) converted with
``openvino.convert_model`` and saved with ``openvino.save_model``.

An OpenVINO model is two files, the graph (``.xml``) and its weights (``.bin``); edgesr's artifact is
the folder holding both (``model.xml`` and ``model.bin``), so that it is written, hashed (sha256 over
the folder) and renamed into place as one thing, as a Core ML package is. Runtimes load
``<artifact>/model.xml``.

Precisions: ``fp32``; ``fp16`` (``compress_to_fp16``: float16 weights, decompressed to float32 on
load; the CPU plugin then computes in float32, as edgesr's runner asks); ``int8``: the QDQ graph
:mod:`edgesr.formats.onnx` writes in edgesr's INT8 scheme (``edgesr.train.qat``: every
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

import importlib.util

import tempfile
from dataclasses import replace
from pathlib import Path

from torch import nn

from edgesr._deps import require
from edgesr._files import atomic_folder
from edgesr.formats.base import Conversion, Exported, get_format
from edgesr.formats.openvino.metadata import GRAPH


def _ov():
    if importlib.util.find_spec("openvino") is not None:
        get_format("openvino").require()  # imported as the format imports it (no telemetry; off AMX)
    return require("openvino", "openvino")


def _save(ov_model, out: Path, precision: str) -> None:
    """Write ``ov_model`` as the folder ``out`` (model.xml + model.bin), whole or not at all."""
    ov = _ov()
    with atomic_folder(out) as tmp:
        tmp.mkdir()
        ov.save_model(ov_model, str(tmp / GRAPH), compress_to_fp16=precision == "fp16")


def _from_onnx(path: Path):
    return _ov().convert_model(str(path))


def export_openvino(model: nn.Module, out: Path, job: Conversion) -> Exported:
    """Write ``model`` at ``job.scales`` as the IR folder ``out``: the ONNX graph edgesr writes for them
    (several scales: trunk -> If on the int64 input ``scale`` -> tail, the trunk stored and run once),
    converted. ``job.input_size`` (the network's H, W) fixes the shape, ``None`` keeps H and W dynamic.
    INT8 is ONNX Runtime's QDQ graph with edgesr's ranges, measured on ``job.range_inputs`` (default:
    the calibration inputs), every activation 8-bit (see the module's docstring)."""
    graph = replace(job, precision="int8" if job.precision == "int8" else "fp32", pure_int8=True)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "model.onnx"
        exported = get_format("onnx").export(model, path, graph)
        _save(_from_onnx(path), out, job.precision)
    return exported

"""The formats: one package each (``edgesr/formats/<name>/``), one :class:`~edgesr.formats.base.Format`
per package, and this table, the only place the formats are listed.

A format says how an artifact of its format is made (its exporter, pip extra, precisions and what each
computes in), held to PyTorch (tolerances per precision), run (its runner, the runtime module and
install line, the devices it takes, whether a board can run it through :mod:`edgesr.devices.ondevice`),
described (its embedded metadata and census) and recorded (the packages whose versions go into
manifests). Everything else asks a format through :func:`get_format` instead of naming it.

This module imports neither PyTorch nor any runtime: the runtime side, a board and ``edgesr bench``'s
planning read it as they are; a format's own modules are imported by its methods, when used.
"""

from __future__ import annotations

from edgesr.errors import ExportError
from edgesr.formats import coreml, executorch, onnx, openvino, tensorrt, tensorrt_rtx, tflite
from edgesr.formats.base import ATOL, CALIBRATED, FORMATS, LOSS_BOUND_DB, TORCH_PSNR_FLOOR_DB, Format, get_format

FORMATS.update({f.name: f for f in (onnx.FORMAT, tflite.FORMAT, coreml.FORMAT, openvino.FORMAT, executorch.FORMAT,
                                     tensorrt.FORMAT, tensorrt_rtx.FORMAT)})

DEFAULT_FIXED_SIZE = (128, 128)  # LR input size for formats that need one, when none is given
QUANT_METHODS = ("auto", "ptq", "qat")  # where int8 weights start: auto (QAT where shipped), float, QAT

__all__ = ["ATOL", "CALIBRATED", "DEFAULT_FIXED_SIZE", "FORMATS", "LOSS_BOUND_DB", "QUANT_METHODS",
           "TORCH_PSNR_FLOOR_DB", "Format", "check_precision", "get_format", "manifest_tools", "remote_formats"]


def check_precision(fmt: Format, precision: str) -> str:
    if precision not in fmt.precisions:
        raise ExportError(f"{fmt.name} does not take precision {precision!r}; it takes {', '.join(fmt.precisions)}")
    return precision


def remote_formats() -> tuple[Format, ...]:
    """The formats whose artifacts the on-device runner runs."""
    return tuple(f for f in FORMATS.values() if f.remote)


def manifest_tools() -> tuple[str, ...]:
    """The distributions whose versions every manifest records: torch and each format's tools."""
    return tuple(dict.fromkeys(("torch",) + tuple(t for f in FORMATS.values() for t in f.tools)))

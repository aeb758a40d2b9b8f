"""What LiteRT artifacts take and give (torch-free: checked when the export's options are built)."""

from __future__ import annotations

from edgesr.errors import ExportError
from edgesr.formats.base import get_format

IO_DTYPE = {"int8": "int8", "w8a16": "int16"}  # full-integer precisions and their image I/O type


def check_io(io: str, precision: str) -> None:
    """Refuse an ``io`` the precision cannot have, in one line."""
    modes = get_format("tflite").io  # what the format declares
    if io not in modes:
        raise ExportError(f"tflite artifacts take --io {' or '.join(modes)}, not {io!r}")
    if io == "uint8" and precision != "int8":
        raise ExportError(f"--io uint8 (uint8 pixels in and out) is for full-integer INT8 (-p int8); -p {precision} "
                          f"artifacts take {IO_DTYPE.get(precision, 'float32')} tensors: use --io tensor")

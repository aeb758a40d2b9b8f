"""The export side's names for the backend table (:mod:`edgesr.backends`), and its own defaults.

``FORMATS`` is ``edgesr.backends.BACKENDS``: one :class:`~edgesr.backends.Backend` per format."""

from __future__ import annotations

from edgesr.backends import (ATOL, BACKENDS, CALIBRATED, LOSS_BOUND_DB, TORCH_PSNR_FLOOR_DB, Backend,
                             check_precision, get_backend)

ExportFormat = Backend
FORMATS = BACKENDS
get_format = get_backend

DEFAULT_FIXED_SIZE = (128, 128)  # LR input size for formats that need one, when none is given
QUANT_METHODS = ("auto", "ptq", "qat")  # where int8 weights start: auto (QAT where shipped), float, QAT

__all__ = ["ATOL", "CALIBRATED", "DEFAULT_FIXED_SIZE", "FORMATS", "LOSS_BOUND_DB", "QUANT_METHODS",
           "TORCH_PSNR_FLOOR_DB", "ExportFormat", "check_precision", "get_format"]

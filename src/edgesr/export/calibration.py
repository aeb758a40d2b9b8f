"""Calibration inputs for INT8 (the code lives in :mod:`edgesr.data.calibration`, below both
export and the QAT trainer)."""

from edgesr.data.calibration import DEFAULT_CALIBRATION_SET, calibration_images, calibration_inputs

__all__ = ["DEFAULT_CALIBRATION_SET", "calibration_images", "calibration_inputs"]

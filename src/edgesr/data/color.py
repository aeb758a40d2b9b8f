"""Colour conversions as MATLAB's ``rgb2ycbcr``/``ycbcr2rgb`` (ITU-R BT.601, studio range).

Values are on the 0-255 scale and kept in float64: Y lies in [16, 235], Cb and Cr in [16, 240].
"""

from __future__ import annotations

import numpy as np

_RGB_TO_YCBCR = np.array(
    [
        [65.481, 128.553, 24.966],
        [-37.797, -74.203, 112.0],
        [112.0, -93.786, -18.214],
    ],
    dtype=np.float64,
) / 255.0
_OFFSET = np.array([16.0, 128.0, 128.0])
_YCBCR_TO_RGB = np.linalg.inv(_RGB_TO_YCBCR)


def rgb_to_ycbcr(rgb: np.ndarray) -> np.ndarray:
    """``HxWx3`` RGB on 0-255 (uint8 or float) to float64 YCbCr."""
    return np.asarray(rgb, dtype=np.float64) @ _RGB_TO_YCBCR.T + _OFFSET


def ycbcr_to_rgb(ycbcr: np.ndarray) -> np.ndarray:
    """Float64 YCbCr to float64 RGB on 0-255 (not clipped, not rounded)."""
    return (np.asarray(ycbcr, dtype=np.float64) - _OFFSET) @ _YCBCR_TO_RGB.T


def to_y(image: np.ndarray) -> np.ndarray:
    """The Y channel used by every metric: float64, not rounded.

    An ``HxWx3`` image is converted with MATLAB's formula
    ``Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255``; a grayscale ``HxW`` image is its own Y.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        return image.astype(np.float64)
    if image.ndim == 3 and image.shape[2] == 3:
        rgb = image.astype(np.float64)
        return 16.0 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255.0
    raise ValueError(f"expected an HxW or HxWx3 image, got shape {image.shape}")


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Clamp to [0, 255] and round half away from zero, as MATLAB's uint8()."""
    return np.clip(np.floor(np.asarray(image, dtype=np.float64) + 0.5), 0, 255).astype(np.uint8)

"""PSNR and SSIM exactly as the SR literature computes them (see PROTOCOL.md).

Both take two images of the same shape (uint8 or float on the 0-255 scale, ``HxW`` or ``HxWx3``),
measure on the Y channel (:func:`edgesr.data.color.to_y`) after shaving ``shave`` pixels from every
border, and work in float64.
"""

from __future__ import annotations

import math

import numpy as np

from edgesr.data.color import to_y

_SSIM_SIZE = 11
_SSIM_SIGMA = 1.5
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def shave_pair(y_sr: np.ndarray, y_hr: np.ndarray, shave: int) -> tuple[np.ndarray, np.ndarray]:
    """Two Y planes of one shape, with ``shave`` pixels removed from every border."""
    if y_sr.shape != y_hr.shape:
        raise ValueError(f"images differ in shape: {y_sr.shape} vs {y_hr.shape}")
    if shave < 0:
        raise ValueError(f"shave must be >= 0, got {shave}")
    if shave:
        if min(y_hr.shape) <= 2 * shave:
            raise ValueError(f"a {y_hr.shape[1]}x{y_hr.shape[0]} image is too small to shave {shave} pixels")
        y_sr = y_sr[shave:-shave, shave:-shave]
        y_hr = y_hr[shave:-shave, shave:-shave]
    return y_sr, y_hr


def _prepare(sr: np.ndarray, hr: np.ndarray, shave: int) -> tuple[np.ndarray, np.ndarray]:
    sr, hr = np.asarray(sr), np.asarray(hr)
    if sr.shape != hr.shape:
        raise ValueError(f"images differ in shape: {sr.shape} vs {hr.shape}")
    return shave_pair(to_y(sr), to_y(hr), shave)


def psnr(sr: np.ndarray, hr: np.ndarray, shave: int = 0) -> float:
    """``10 log10(255^2 / MSE)`` on Y; ``inf`` for identical images."""
    return psnr_y(*_prepare(sr, hr, shave))


def psnr_y(y_sr: np.ndarray, y_hr: np.ndarray) -> float:
    """PSNR of two (already shaved) Y planes."""
    mse = float(np.mean((y_sr - y_hr) ** 2))
    if mse == 0:
        return math.inf
    return 10.0 * math.log10(255.0**2 / mse)


def _gaussian_window() -> np.ndarray:
    half = _SSIM_SIZE // 2
    g = np.exp(-((np.arange(_SSIM_SIZE) - half) ** 2) / (2 * _SSIM_SIGMA**2))
    return g / g.sum()


def _filter_valid(img: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Separable 'valid' correlation with the 1-D window ``g`` along both axes."""
    n = g.size
    rows = sum(g[k] * img[k : img.shape[0] - n + 1 + k, :] for k in range(n))
    return sum(g[k] * rows[:, k : rows.shape[1] - n + 1 + k] for k in range(n))


def ssim(sr: np.ndarray, hr: np.ndarray, shave: int = 0) -> float:
    """SSIM of Wang et al. (2004): 11x11 Gaussian window, sigma 1.5, valid region, on Y."""
    return ssim_y(*_prepare(sr, hr, shave))


def ssim_y(y_sr: np.ndarray, y_hr: np.ndarray) -> float:
    """SSIM of two (already shaved) Y planes."""
    if min(y_hr.shape) < _SSIM_SIZE:
        raise ValueError(f"SSIM needs images of at least {_SSIM_SIZE}x{_SSIM_SIZE} after shaving")
    g = _gaussian_window()
    mu1, mu2 = _filter_valid(y_sr, g), _filter_valid(y_hr, g)
    mu1_sq, mu2_sq, mu12 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    sigma1_sq = _filter_valid(y_sr * y_sr, g) - mu1_sq
    sigma2_sq = _filter_valid(y_hr * y_hr, g) - mu2_sq
    sigma12 = _filter_valid(y_sr * y_hr, g) - mu12
    num = (2 * mu12 + _C1) * (2 * sigma12 + _C2)
    den = (mu1_sq + mu2_sq + _C1) * (sigma1_sq + sigma2_sq + _C2)
    return float(np.mean(num / den))

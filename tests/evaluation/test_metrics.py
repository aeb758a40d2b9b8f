import math

import numpy as np
import pytest

from edgesr.evaluation.metrics import psnr, ssim


def test_identical_images(photo):
    assert psnr(photo, photo) == math.inf
    assert ssim(photo, photo) == pytest.approx(1.0)


def test_psnr_by_hand():
    a = np.full((20, 20), 100, np.uint8)
    b = a.copy()
    b[5, 5] = 110  # one pixel off by 10: MSE = 100 / 400
    assert psnr(b, a) == pytest.approx(10 * math.log10(255**2 / 0.25))
    assert psnr(b, a, shave=6) == math.inf  # the pixel is shaved away


def test_psnr_on_y_channel_only():
    a = np.full((16, 16, 3), 100, np.uint8)
    b = a.copy()
    b[..., 2] += 10  # blue changes Y by 10 * 24.966 / 255
    dy = 10 * 24.966 / 255
    assert psnr(b, a) == pytest.approx(10 * math.log10(255**2 / dy**2))


def test_shape_mismatch_and_bad_shave(photo):
    with pytest.raises(ValueError, match="shape"):
        psnr(photo, photo[:-1])
    with pytest.raises(ValueError, match="shape"):
        ssim(photo, photo[..., 0])
    with pytest.raises(ValueError, match="shave"):
        psnr(photo, photo, shave=-1)
    with pytest.raises(ValueError, match="too small"):
        psnr(photo, photo, shave=30)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(photo[:12, :12], photo[:12, :12], shave=1)


def test_ssim_reference_value():
    # SSIM of a constant image against itself plus a constant offset d: only the luminance term
    # is left, (2 mu1 mu2 + C1) / (mu1^2 + mu2^2 + C1)
    a = np.full((30, 30), 100.0)
    c1 = (0.01 * 255) ** 2
    expected = (2 * 100 * 120 + c1) / (100**2 + 120**2 + c1)
    assert ssim(a + 20, a) == pytest.approx(expected)


def test_ssim_symmetric_and_bounded(photo, rng):
    noisy = np.clip(photo + rng.normal(0, 20, photo.shape), 0, 255).astype(np.uint8)
    s = ssim(noisy, photo, shave=2)
    assert 0 < s < 1
    assert ssim(photo, noisy, shave=2) == pytest.approx(s)
    assert psnr(noisy, photo) < psnr(np.clip(photo.astype(int) + 1, 0, 255).astype(np.uint8), photo)

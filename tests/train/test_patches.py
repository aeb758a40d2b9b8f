import numpy as np
import pytest

from edgesr.data.imresize import imresize
from edgesr.evaluation.metrics import psnr
from edgesr.train.patches import PatchSampler


@pytest.fixture(scope="module")
def sampler(data_root):
    return PatchSampler(("Set5",), (2, 4), 48, "rgb", False, str(data_root))


def test_shapes_and_range(sampler):
    rng = np.random.default_rng(0)
    for scale in (2, 4):
        x, y = sampler.batch(rng, scale, 3)
        assert x.shape == (3, 3, 48 // scale, 48 // scale) and y.shape == (3, 3, 48, 48)
        assert 0 <= float(x.min()) and float(x.max()) <= 1


def test_input_and_target_cover_the_same_area(sampler):
    x, y = sampler.batch(np.random.default_rng(1), 2, 8)
    for lr, hr in zip(x.numpy(), y.numpy()):
        lr8 = (lr.transpose(1, 2, 0) * 255).round().astype(np.uint8)
        hr8 = (hr.transpose(1, 2, 0) * 255).round().astype(np.uint8)
        assert psnr(imresize(lr8, 2), hr8, shave=2) > 20  # a misaligned crop lands far lower


def test_repeatable_with_the_same_seed(sampler):
    a = sampler.batch(np.random.default_rng(5), 4, 4)
    b = sampler.batch(np.random.default_rng(5), 4, 4)
    assert all((u == v).all() for u, v in zip(a, b))


def test_pre_upsampling_y(data_root):
    s = PatchSampler(("Set5",), (3,), 30, "y", True, str(data_root))
    x, y = s.batch(np.random.default_rng(0), 3, 2)
    assert x.shape == y.shape == (2, 1, 30, 30)
    assert 16 / 255 - 1e-6 <= float(y.min()) and float(y.max()) <= 235 / 255 + 1e-6

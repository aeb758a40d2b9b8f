import numpy as np

from edgesr.data.calibration import calibration_inputs
from edgesr.models import create_model


def test_shapes_colour_and_range(data_root):
    xs = calibration_inputs(create_model("espcn", scale=3), 3, "Set5", count=4, lr_size=(20, 24), data_root=str(data_root))
    assert len(xs) == 4 and all(x.shape == (1, 1, 20, 24) and x.dtype == np.float32 for x in xs)
    assert all(16 / 255 - 1e-6 <= x.min() and x.max() <= 235 / 255 + 1e-6 for x in xs)
    pre = calibration_inputs(create_model("vdsr"), 2, "Set5", count=2, lr_size=(16, 16), data_root=str(data_root))
    assert pre[0].shape == (1, 1, 32, 32)


def test_large_fixed_inputs_still_calibrate(data_root):
    # Set5 x4 LR images are at most 128 px: a 256x256 input falls back to crops of the images themselves
    xs = calibration_inputs(create_model("masrn"), 4, "Set5", count=2, lr_size=(256, 256), data_root=str(data_root))
    assert xs[0].shape == (1, 3, 256, 256) and 0 <= xs[0].min() and xs[0].max() <= 1
    again = calibration_inputs(create_model("masrn"), 4, "Set5", count=2, lr_size=(256, 256), data_root=str(data_root))
    assert all((a == b).all() for a, b in zip(xs, again))

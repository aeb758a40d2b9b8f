"""Calibration inputs for INT8: crops of real training images, preprocessed as at inference."""

from __future__ import annotations

import numpy as np
from torch import nn

from edgesr.train.patches import PatchSampler

DEFAULT_CALIBRATION_SET = "T91"


def calibration_inputs(model: nn.Module, scale: int, images: str = DEFAULT_CALIBRATION_SET, count: int = 64,
                       lr_size: tuple[int, int] = (64, 64), data_root: str | None = None,
                       seed: int = 0) -> list[np.ndarray]:
    """``count`` network inputs (float32 ``1 x C x h x w``) from random crops of ``images`` (a set
    name or a folder), with the model's colour and pre-upscaling. Square crops of ``lr_size[0]``."""
    spec = model.spec
    side = lr_size[0] * scale
    sampler = PatchSampler((images,), (scale,), side, spec.colour, spec.upsampling == "pre", data_root)
    rng = np.random.default_rng(seed)
    return [sampler.batch(rng, scale, 1)[0].numpy() for _ in range(count)]

"""Random training patches from folders of HR images, with the evaluation's own degradation.

Every HR image is mod-cropped and degraded once per scale with the MATLAB bicubic of
:mod:`edgesr.data.imresize` when the sampler is built, and kept in memory as uint8 (the 291 set
takes about 0.3 GB with three scales), so drawing a batch is only slicing, flipping and a colour
conversion. Pre-upsampling models get the MATLAB bicubic upscale of the LR image as input.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from edgesr.data.color import rgb_to_ycbcr
from edgesr.data.datasets import find_images
from edgesr.data.degrade import degrade
from edgesr.data.imresize import imresize
from edgesr.data.io import read_image
from edgesr.errors import DataError


@dataclass
class _Pair:
    hr: np.ndarray  # HxWx3 uint8, mod-cropped
    lr: np.ndarray  # model input: LR, or its bicubic upscale for pre-upsampling models


class PatchSampler:
    """Draws ``(input, target)`` batches (float32 NCHW on [0, 1]) for one scale at a time."""

    def __init__(self, sets: tuple[str, ...], scales: tuple[int, ...], patch_size: int, colour: str,
                 pre_upsample: bool, data_root: str | None = None):
        start = time.perf_counter()
        self.scales, self.patch_size, self.colour, self.pre = scales, patch_size, colour, pre_upsample
        files = [f for name in sets for f in find_images(name, data_root).files]
        self.pairs: dict[int, list[_Pair]] = {s: [] for s in scales}
        for path in files:
            img = read_image(path)
            if img.ndim == 2:
                img = np.repeat(img[..., None], 3, axis=2)
            if min(img.shape[:2]) < patch_size:
                continue
            for s in scales:
                lr, hr = degrade(img, s)
                self.pairs[s].append(_Pair(hr, imresize(lr, s) if pre_upsample else lr))
        if not self.pairs[scales[0]]:
            raise DataError(f"no training image of {', '.join(sets)} is at least {patch_size}px on each side")
        self.images = len(self.pairs[scales[0]])
        self.prepare_seconds = time.perf_counter() - start

    def _channels(self, patch: np.ndarray) -> np.ndarray:
        """N x h x w x 3 uint8 -> N x C x h x w float32 on [0, 1]."""
        if self.colour == "y":
            out = rgb_to_ycbcr(patch)[..., :1] / 255.0
        else:
            out = patch / 255.0
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2), dtype=np.float32)

    def batch(self, rng: np.random.Generator, scale: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = self.pairs[scale]
        hr_p = self.patch_size
        in_p = hr_p if self.pre else hr_p // scale
        f = 1 if self.pre else scale  # target pixels per input pixel
        ins, tgts = [], []
        for idx in rng.integers(0, len(pairs), size):
            pair = pairs[idx]
            h, w = pair.lr.shape[:2]
            y, x = int(rng.integers(0, h - in_p + 1)), int(rng.integers(0, w - in_p + 1))
            inp = pair.lr[y:y + in_p, x:x + in_p]
            tgt = pair.hr[y * f:y * f + hr_p, x * f:x * f + hr_p]
            k, flip = int(rng.integers(0, 4)), bool(rng.integers(0, 2))
            inp, tgt = np.rot90(inp, k), np.rot90(tgt, k)
            if flip:
                inp, tgt = inp[:, ::-1], tgt[:, ::-1]
            ins.append(inp)
            tgts.append(tgt)
        return torch.from_numpy(self._channels(np.stack(ins))), torch.from_numpy(self._channels(np.stack(tgts)))

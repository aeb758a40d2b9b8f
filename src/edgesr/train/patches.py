"""Random training patches from folders of HR images, with the evaluation's own degradation.

Every HR image is mod-cropped and degraded once per scale with the MATLAB bicubic of
:mod:`edgesr.data.imresize` when the sampler is built, and kept as uint8 arrays, so drawing a batch
is only slicing, flipping and a colour conversion. Pre-upsampling models get the MATLAB bicubic
upscale of the LR image as input.

Where the arrays live (``cache``): in memory (the 291 set takes about 0.3 GB with three scales), or,
for sets larger than ``MEMORY_LIMIT`` decoded (DIV2K's 800 training images take about 9 GB with three
scales, DF2K about 33 GB), as ``.npy`` files in a cache folder that are memory-mapped: prepared once
(each file written whole, so an interrupted preparation resumes where it stopped), reused by every
later run on the same images, scales and input kind, and read through the page cache.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from edgesr.data.color import rgb_to_ycbcr
from edgesr.data.datasets import find_images
from edgesr.data.degrade import degrade, modcrop
from edgesr.data.imresize import imresize
from edgesr._files import atomic_path, check_writable
from edgesr.data.io import read_image
from edgesr.errors import DataError

MEMORY_LIMIT = 4 << 30  # decoded bytes (HR and every scale's input) above which "auto" uses the disk cache
CACHE_ENV = "EDGESR_CACHE"


def default_cache() -> Path:
    """``$EDGESR_CACHE/train``, else ``~/.cache/edgesr/train``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "edgesr") / "train"


def decoded_bytes(files, scales: tuple[int, ...], pre_upsample: bool) -> int:
    """The bytes ``files`` take as uint8 RGB with every scale's input (read from the headers only)."""
    from PIL import Image

    per_pixel = 3 * (1 + sum(1 if pre_upsample else 1 / (s * s) for s in scales))
    total = 0
    for path in files:
        with Image.open(path) as img:
            total += int(img.width * img.height * per_pixel)
    return total


@dataclass
class _Pair:
    hr: np.ndarray  # HxWx3 uint8, mod-cropped
    lr: np.ndarray  # model input: LR, or its bicubic upscale for pre-upsampling models


class PatchSampler:
    """Draws ``(input, target)`` batches (float32 NCHW on [0, 1]) for one scale at a time."""

    def __init__(self, sets: tuple[str, ...], scales: tuple[int, ...], patch_size: int, colour: str,
                 pre_upsample: bool, data_root: str | None = None, cache: str = "auto",
                 augment: tuple[str, ...] = ("flip", "rot90")):
        """``cache``: ``"memory"``, a folder for the memory-mapped arrays, or ``"auto"`` (memory up to
        ``MEMORY_LIMIT`` decoded, else ``default_cache()``)."""
        start = time.perf_counter()
        self.scales, self.patch_size, self.colour, self.pre = scales, patch_size, colour, pre_upsample
        self.flip, self.rot90 = "flip" in augment, "rot90" in augment
        files = [f for name in sets for f in find_images(name, data_root).files]
        if cache == "auto":
            cache = "memory" if decoded_bytes(files, scales, pre_upsample) <= MEMORY_LIMIT else str(default_cache())
        self.cache = None if cache == "memory" else Path(cache).expanduser()
        if self.cache is not None:
            check_writable(self.cache, "the training data cache (data_cache)")
        self.pairs: dict[int, list[_Pair]] = {s: [] for s in scales}
        for n, path in enumerate(files, 1):
            arrays = self._prepared(path) if self.cache is not None else self._prepare(path)
            if arrays is not None:
                hr, inputs = arrays
                for s, inp in zip(scales, inputs):
                    self.pairs[s].append(_Pair(modcrop(hr, s), inp))
            if self.cache is not None and (n % 100 == 0 or n == len(files)):
                print(f"training images prepared in {self.cache}: {n}/{len(files)}", file=sys.stderr, flush=True)
        if not self.pairs[scales[0]]:
            raise DataError(f"no training image of {', '.join(sets)} is at least {patch_size}px on each side")
        self.images = len(self.pairs[scales[0]])
        self.prepare_seconds = time.perf_counter() - start

    def _prepare(self, path: Path) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """The HR image (RGB) and each scale's model input, or None for an image smaller than a patch."""
        img = read_image(path)
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        if min(img.shape[:2]) < self.patch_size:
            return None
        inputs = []
        for s in self.scales:
            lr, _ = degrade(img, s)
            inputs.append(imresize(lr, s) if self.pre else lr)
        return img, inputs

    def _prepared(self, path: Path) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """``_prepare`` through the cache folder: each array a memory-mapped ``.npy`` named after the
        image's path, size and modification time, the scale and the input kind (a changed image is
        prepared again). Images smaller than a patch are read every time (they are few and small)."""
        st = path.stat()
        key = hashlib.sha256(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:24]
        names = [self.cache / f"{key}.hr.npy"] + [self.cache / f"{key}.{'pre' if self.pre else 'lr'}x{s}.npy"
                                                   for s in self.scales]
        if not all(n.is_file() for n in names):
            arrays = self._prepare(path)
            if arrays is None:
                return None
            for name, array in zip(names, [arrays[0], *arrays[1]]):
                if not name.is_file():
                    with atomic_path(name) as tmp:
                        with open(tmp, "wb") as f:
                            np.save(f, np.ascontiguousarray(array))
        try:
            hr = np.load(names[0], mmap_mode="r")
            inputs = [np.load(n, mmap_mode="r") for n in names[1:]]
        except (ValueError, OSError) as exc:
            raise DataError(f"{self.cache}: a prepared array of {path} is unreadable ({exc}); delete the folder "
                            "(it is prepared again)") from None
        if min(hr.shape[:2]) < self.patch_size:
            return None
        return hr, inputs

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
            k, flip = int(rng.integers(0, 4)), bool(rng.integers(0, 2))  # drawn either way: the same crops
            if self.rot90:
                inp, tgt = np.rot90(inp, k), np.rot90(tgt, k)
            if flip and self.flip:
                inp, tgt = inp[:, ::-1], tgt[:, ::-1]
            ins.append(inp)
            tgts.append(tgt)
        return torch.from_numpy(self._channels(np.stack(ins))), torch.from_numpy(self._channels(np.stack(tgts)))

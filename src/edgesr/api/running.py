"""``open_runner`` (a runner for a model or an artifact) and ``upscale`` (one image)."""

from __future__ import annotations

import os

import numpy as np

from edgesr.api.sources import UPSCALE_PIECE_BYTES, check_arguments, choose_scale, entered, resolve


def open_runner(source, scale: int | None = None, *, device: str | None = None, tile: int | None = None,
                threads: int = 0, weights: str | os.PathLike | None = None, kind: str | None = None, **declared):
    """A runner (use it as a context manager) for an artifact, a model named by string (with
    ``weights``, default the shipped ones) or an ``nn.Module`` (with ``colour=``, ``upsampling=``,
    ``scales=`` unless it has a ``spec``). ``scale`` may be left out when the source serves one;
    a shared-trunk artifact opened at one scale serves the others through ``switch()``.
    ``device``: "cpu" or "cuda" (a model, an ONNX artifact); ``tile``: upscale images in pieces of
    ``tile`` x ``tile`` LR pixels (bounded memory, same result); ``threads``: CPU threads of the
    runtime (0: its default; refused by runtimes that take none, TensorRT and Core ML). ``kind`` ("model" or "artifact")
    says what a string is; by default an existing path is an artifact."""
    check_arguments(scale, device, tile, threads, weights)
    source = resolve(source, kind=kind, weights=weights, **declared)
    return source.open(choose_scale(source, scale), device=device, tile=tile, threads=threads)


def upscale(model, image, scale: int | None = None, *, weights: str | os.PathLike | None = None,
            device: str | None = None, tile: int | None = None, threads: int = 0, **declared) -> np.ndarray:
    """``image`` (a uint8 ``HxW`` or ``HxWx3`` array, or an image file) upscaled by ``model`` (anything
    ``open_runner`` takes, or an open runner): the SR image, uint8. Large images are done in pieces."""
    from edgesr.data.io import read_image
    from edgesr.errors import ImageError
    from edgesr.inference import upscale as pipeline

    check_arguments(scale, device, tile, threads, weights)
    if image is None or not isinstance(image, (str, os.PathLike, np.ndarray, list, tuple)):
        raise ImageError(f"image must be a uint8 HxW or HxWx3 array or an image file, got {type(image).__name__}")
    lr = read_image(image) if isinstance(image, (str, os.PathLike)) else np.asarray(image)
    if lr.size == 0 or lr.ndim not in (2, 3):
        raise ImageError(f"image must be a uint8 HxW or HxWx3 array with pixels in it, got shape {lr.shape}")
    source = resolve(model, weights=weights, **declared)
    runner = source.open(choose_scale(source, scale), device=device, tile=tile, threads=threads)
    if runner.memory_budget is None and source.kind != "runner":
        runner.memory_budget = UPSCALE_PIECE_BYTES  # without tile: pieces of about this much
    with entered(runner):
        return pipeline(runner, lr, keep_y=False).image

"""``export``: a model (a name, a reference or an ``nn.Module``) to an artifact and its manifest,
checked against PyTorch; and the one-line summary of an artifact's check."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from edgesr.api.sources import resolve

Size = tuple[int, int]


def export(model, scale: int | Sequence[int], format: str, out_dir: str | os.PathLike, *, precision: str | None = None,
           weights: str | os.PathLike | None = None, input_size: Size | Sequence[Size] | None = None,
           colour: str | None = None, upsampling: str | None = None, scales: Sequence[int] | None = None,
           multi_scale: bool | None = None, **options) -> Path:
    """Export ``model`` at ``scale`` (several scales of a multi-scale model: one shared-trunk artifact)
    to ``format`` (onnx, tflite, coreml, openvino, executorch, tensorrt) in ``out_dir``; returns the artifact's path (its
    manifest is ``<artifact>.json``).

    ``model``: a registry name or reference, built with ``weights`` (default: the shipped ones), or an
    ``nn.Module``, exported as it is with its current weights; a module without a ``spec`` declares
    ``colour=`` ("y" or "rgb"), ``upsampling=`` ("pre" or "post") and the ``scales=`` it serves
    (``multi_scale=True`` when ``forward(x, scale)`` serves them all). ``input_size``: a fixed LR
    input (H, W), or several for Core ML; None: dynamic where the format allows. ``options`` go to
    :class:`edgesr.conversion.options.ExportOptions`: ``calib_data``, ``calib_images``, ``check_set``,
    ``data_root``, ``profile``, ``check``, ``quant``, ``pure_int8``, ``io``, ``verbose``; ``log`` (e.g.
    ``print``) is told each step.

    The options are built and checked once (:meth:`ExportOptions.build`), with the model's name,
    before PyTorch is imported."""
    from edgesr.conversion.options import ExportOptions

    log = options.pop("log", None)
    opts = ExportOptions.build(scale, format, precision=precision, weights=weights, input_size=input_size, **options)
    source = resolve(model, kind="model", weights=weights, colour=colour, upsampling=upsampling, scales=scales,
                     multi_scale=multi_scale)
    return export_with(source, opts, out_dir, log=log)


def export_with(source, opts, out_dir: str | os.PathLike, *, log=None) -> Path:
    """Export a resolved ``source`` (``edgesr.api.sources.resolve``) with built ``opts``: what
    ``export`` and ``edgesr export`` share."""
    from edgesr._deps import require_torch

    require_torch()  # a torch-free install: one line naming the install
    from edgesr.conversion.api import run_export

    target = source.ref if source.module is None else source.module
    return run_export(target, opts, out_dir, log=log)


def summary(artifact: str | os.PathLike) -> str:
    """``wrote ARTIFACT (N MB); on Set5: ...``: what was written and how its check went."""
    from edgesr.manifest import artifact_bytes, read_manifest

    manifest = read_manifest(artifact)
    check = manifest.check
    from edgesr.manifest import torch_psnr

    psnr = torch_psnr(check)
    if psnr is None:
        detail = check.get("skipped", "")
    else:
        close = "identical to PyTorch's" if psnr == float("inf") else f"{psnr:.2f} dB from PyTorch's"
        detail = f"on {check['dataset']}: {check['dpsnr']:+.3f} dB PSNR against PyTorch, output {close}"
    if manifest.quant_method:
        detail += f"; {manifest.quant_method.upper()} weights"
    return f"wrote {artifact} ({artifact_bytes(artifact) / 1e6:.2f} MB); {detail}"

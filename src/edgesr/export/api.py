"""``export_model``: one model at one scale to one format and precision, with its manifest and the
export-time check (PSNR of the artifact's output against PyTorch's on real images)."""

from __future__ import annotations

import os
import platform
from importlib import metadata
from pathlib import Path

from edgesr.data.datasets import find_images
from edgesr.errors import DataError, ExportError
from edgesr.evaluation.compare import compare_upscalers
from edgesr.export.calibration import DEFAULT_CALIBRATION_SET, calibration_inputs
from edgesr.export.common import network_for_scale, network_input_size
from edgesr.export.formats import DEFAULT_FIXED_SIZE, check_precision, get_format
from edgesr.export.manifest import Manifest, sha256, write_manifest
from edgesr.inference import torch_upscaler
from edgesr.models.registry import check_model_scale, get_spec
from edgesr.models.profile import activation_bytes_per_pixel
from edgesr.models.weights import load_model, shipped_weights
from edgesr.runtimes.tiling import receptive_radius

_TOOLS = ("torch", "onnx", "onnxruntime", "onnxslim", "litert-torch", "ai-edge-quantizer", "coremltools")


def _tool_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _TOOLS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _check(artifact: Path, model, scale: int, check_set: str, data_root: str | None) -> dict:
    from edgesr.runtimes.registry import open_runner

    try:
        images = find_images(check_set, data_root)
    except DataError as exc:
        return {"skipped": str(exc)}
    with open_runner(artifact, scale) as runner:
        result = compare_upscalers(lambda lr, s: runner.infer(lr), torch_upscaler(model), images, scale)
    return {"dataset": images.name, "psnr_vs_torch": result.psnr, "ssim_vs_torch": result.ssim,
            "images": len(images)}


def export_model(model_name: str, scale: int, fmt: str, out_dir: str | os.PathLike, *, precision: str = "fp32",
                 weights: str | os.PathLike | None = None, lr_size: tuple[int, int] | None = None,
                 calib_data: str = DEFAULT_CALIBRATION_SET, calib_images: int = 64,
                 check_set: str = "Set5", data_root: str | None = None) -> Path:
    """Export and check; returns the artifact's path (its manifest is ``<artifact>.json``).

    ``lr_size`` (H, W of the LR image) fixes the input shape; ``None`` asks for dynamic H and W,
    which formats that cannot do refuse.
    """
    row = get_format(fmt)
    check_precision(row, precision)
    check_model_scale(get_spec(model_name), scale)
    if lr_size is None and not row.dynamic:
        lr_size = DEFAULT_FIXED_SIZE  # larger images run as tiles
    model = load_model(model_name, scale, weights)
    weights_path = Path(weights) if weights else shipped_weights(model_name, scale if model.spec.per_scale else None)
    size = network_input_size(model, lr_size, scale) if lr_size else None
    calibration = None
    if precision == "int8":
        calibration = calibration_inputs(model, scale, calib_data, calib_images, lr_size or (64, 64), data_root)
    out_dir = Path(out_dir)
    shape = f"{lr_size[0]}x{lr_size[1]}" if lr_size else "dynamic"
    artifact = out_dir / f"{model_name}_x{scale}_{precision}_{shape}{row.suffix}"
    try:
        inp, out = row.exporter()(model, artifact, scale=scale, precision=precision, input_size=size,
                                  calibration=calibration)
    except ExportError:
        raise
    except Exception as exc:  # a converter's own failure, named with its type
        raise ExportError(f"{fmt} {precision} export of {model_name} x{scale} failed: {type(exc).__name__}: {exc}") from exc
    net = network_for_scale(model, scale)
    factor = 1 if model.spec.upsampling == "pre" else scale
    manifest = Manifest(
        model=model_name, scales=(scale,), format=fmt, precision=precision, colour=model.spec.colour,
        upsampling=model.spec.upsampling, input=inp, output=out, artifact_sha256=sha256(artifact),
        receptive_radius=receptive_radius(net, model.spec.channels, factor),
        activation_bytes_per_pixel=activation_bytes_per_pixel(model, scale),
        weights_sha256=sha256(weights_path) if weights_path else None, tools=_tool_versions(),
    )
    write_manifest(artifact, manifest)
    check = _check(artifact, model, scale, check_set, data_root) if row.runs_here else {"skipped": "runtime not on this OS"}
    write_manifest(artifact, Manifest(**{**manifest.__dict__, "check": check}))
    return artifact

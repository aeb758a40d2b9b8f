"""``export_model``: one model at one scale to one format and precision, with its manifest and the
export-time check (PSNR of the artifact's output against PyTorch's on real images)."""

from __future__ import annotations

import os
import sys
import platform
from importlib import metadata
from pathlib import Path
from typing import Sequence

from edgesr.data.datasets import find_images
from edgesr.errors import DataError, EdgesrError, ExportError
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

_TOOLS = ("torch", "onnx", "onnxruntime", "onnxruntime-gpu", "onnxscript", "onnxslim", "litert-torch",
          "ai-edge-litert", "ai-edge-quantizer", "torchao", "coremltools", "tensorrt")


def tool_versions() -> dict[str, str]:
    from edgesr.devices.ondevice import cpu_info  # standard library only

    cpu = cpu_info()
    versions = {"python": platform.python_version(), "cpu": cpu["model"], "cpu_int_flags": " ".join(cpu["int_flags"])}
    for name in _TOOLS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _check(artifact: Path, model, scales: tuple[int, ...], check_set: str, data_root: str | None) -> dict:
    """PSNR/SSIM of the artifact's output against PyTorch's, per scale; the top-level numbers are
    the worst scale's."""
    from edgesr.runtimes.registry import open_runner

    try:
        images = find_images(check_set, data_root)
    except DataError as exc:
        return {"skipped": str(exc)}
    per_scale = {}
    for scale in scales:
        with open_runner(artifact, scale) as runner:
            r = compare_upscalers(lambda lr, s: runner.infer(lr), torch_upscaler(model), images, scale)
        per_scale[f"x{scale}"] = {"psnr_vs_torch": r.psnr, "ssim_vs_torch": r.ssim}
    worst = min(per_scale.values(), key=lambda v: v["psnr_vs_torch"])
    check = {"dataset": images.name, **worst, "images": len(images)}
    if len(scales) > 1:
        check["per_scale"] = per_scale
    return check


def export_model(model_name: str, scale: int | Sequence[int], fmt: str, out_dir: str | os.PathLike, *,
                 precision: str | None = None, weights: str | os.PathLike | None = None,
                 lr_size: tuple[int, int] | None = None, calib_data: str = DEFAULT_CALIBRATION_SET,
                 calib_images: int = 64, check_set: str = "Set5", data_root: str | None = None,
                 profile: tuple | None = None, check: bool = True) -> Path:
    """Export and check; returns the artifact's path (its manifest is ``<artifact>.json``).

    ``scale`` is one scale, or several for a multi-scale model: then ONE artifact holds the shared
    parts once and every scale's head, chosen at run time. ``lr_size`` (H, W of the LR image) fixes
    the input shape; ``None`` asks for dynamic H and W, which formats that cannot do refuse.
    """
    scales = (scale,) if isinstance(scale, int) else tuple(dict.fromkeys(scale))
    if not scales:
        raise ExportError("no scale given")
    row = get_format(fmt)
    precision = check_precision(row, precision or row.precisions[0])  # fp32, or fp16 for tensorrt
    spec = get_spec(model_name)
    for s in scales:
        check_model_scale(spec, s)
    shared = len(scales) > 1
    if shared and not spec.multi_scale:
        raise ExportError(f"{model_name} has one network per scale; export its scales one at a time "
                          "(only multi-scale models such as masrn share a trunk)")
    exporter = row.exporter(shared=shared)
    if lr_size is None and not row.dynamic:
        lr_size = DEFAULT_FIXED_SIZE  # larger images run as tiles
    sizes = [tuple(lr_size)] if lr_size and isinstance(lr_size[0], int) else [tuple(s) for s in lr_size or []]
    if len(sizes) > 1 and not row.enumerated:
        raise ExportError(f"{fmt} takes one input size, not {len(sizes)}; only coreml enumerates several")
    if profile is not None and fmt != "tensorrt":
        raise ExportError("an optimization profile is for tensorrt exports only")
    lr_size = sizes[0] if sizes else None
    model = load_model(model_name, scales[0], weights)
    weights_path = Path(weights) if weights else shipped_weights(model_name, scales[0] if model.spec.per_scale else None)
    calibration = {}
    if precision == "int8":  # the calibration images split between the scales
        count = max(1, calib_images // len(scales))
        calibration = {s: calibration_inputs(model, s, calib_data, count, lr_size or (64, 64), data_root)
                       for s in scales}
    out_dir = Path(out_dir)
    shape = "+".join(f"{h}x{w}" for h, w in sizes) if sizes else "dynamic"
    tag = "-".join(str(s) for s in scales)
    artifact = out_dir / f"{model_name}_x{tag}_{precision}_{shape}{row.suffix}"
    net_sizes = [network_input_size(model, s, scales[0]) for s in sizes]
    size = (net_sizes[0] if len(net_sizes) == 1 else net_sizes) or None
    extra = {"profile": tuple(network_input_size(model, s, scales[0]) for s in profile)} if profile else {}
    try:
        if shared:
            heads, scale_input = exporter(model, artifact, scales=scales, precision=precision, input_size=size,
                                          calibration=calibration or None, **extra)
        else:
            inp, out = exporter(model, artifact, scale=scales[0], precision=precision, input_size=size,
                                calibration=calibration.get(scales[0]), **extra)
            heads, scale_input = (), None
    except EdgesrError:  # already one line naming the problem (a missing package, a bad option)
        raise
    except Exception as exc:  # a converter's own failure, named with its type
        raise ExportError(f"{fmt} {precision} export of {model_name} x{tag} failed: {type(exc).__name__}: {exc}") from exc
    if heads:
        inp, out = heads[0].input, heads[0].output
    factor = 1 if model.spec.upsampling == "pre" else None
    manifest = Manifest(
        model=model_name, scales=scales, format=fmt, precision=precision, colour=model.spec.colour,
        upsampling=model.spec.upsampling, input=inp, output=out, artifact_sha256=sha256(artifact),
        receptive_radius=max(receptive_radius(network_for_scale(model, s), model.spec.channels, factor or s)
                             for s in scales),
        activation_bytes_per_pixel=max(activation_bytes_per_pixel(model, s) for s in scales),
        weights_sha256=sha256(weights_path) if weights_path else None, tools=tool_versions(),
        heads=heads, scale_input=scale_input,
        quantization=row.int8_scheme if precision == "int8" else "",
    )
    write_manifest(artifact, manifest)
    if not check:
        outcome = {"skipped": "not asked for"}
    elif row.runs_here and not row.needs_gpu:
        outcome = _check(artifact, model, scales, check_set, data_root)
    else:
        outcome = {"skipped": f"{row.runtime} does not run here ({'needs a GPU' if row.needs_gpu else sys.platform})"}
    if fmt == "coreml":  # what can be checked without running it
        from edgesr.export.coreml import describe

        package = describe(artifact)
        outcome["package"] = {"compressed_weight_ops": package["compressed_weight_ops"],
                            "functions": {k: {"inputs": v["inputs"], "outputs": v["outputs"]}
                                          for k, v in package["functions"].items()}}
    write_manifest(artifact, Manifest(**{**manifest.__dict__, "check": outcome}))
    return artifact

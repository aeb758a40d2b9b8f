"""``export_model``: one model at one scale to one format and precision, with its manifest and the
export-time check (PSNR of the artifact's output against PyTorch's on real images)."""

from __future__ import annotations

import inspect
import json
import os
import shutil
import sys
import platform
from importlib import metadata
from pathlib import Path
from typing import Sequence

from edgesr.data.datasets import find_images
from edgesr.errors import DataError, EdgesrError, ExportError
from edgesr.evaluation.compare import compare_with_truth
from edgesr.export.calibration import DEFAULT_CALIBRATION_SET, calibration_images, calibration_inputs
from edgesr.export.common import network_for_scale, network_input_size
from edgesr.export.formats import CALIBRATED, DEFAULT_FIXED_SIZE, FORMATS, LOSS_BOUND_DB, check_precision, get_format
from edgesr.export.manifest import Manifest, sha256, write_manifest
from edgesr.inference import torch_upscaler
from edgesr.models.registry import check_model_scale, get_spec
from edgesr.models.profile import activation_bytes_per_pixel
from edgesr.models.weights import is_qat, load_model, shipped_weights
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


def _check(artifact: Path, model, scales: tuple[int, ...], check_set: str, data_root: str | None,
           baseline=None) -> dict:
    """PSNR/SSIM of the artifact's output against PyTorch's (the same weights) and its dPSNR against
    the HR images (artifact minus PyTorch FP32 of ``baseline``, default the same weights: QAT
    weights are held to the float weights they replace), per scale; the top-level numbers are the
    worst scale's."""
    from edgesr.runtimes.registry import open_runner

    try:
        images = find_images(check_set, data_root)
    except DataError as exc:
        return {"skipped": str(exc)}
    per_scale = {}
    for scale in scales:
        with open_runner(artifact, scale) as runner:
            r, loss = compare_with_truth(lambda lr, s: runner.infer(lr), torch_upscaler(model), images, scale,
                                         baseline=torch_upscaler(baseline) if baseline is not None else None)
        per_scale[f"x{scale}"] = {"psnr_vs_torch": r.psnr, "ssim_vs_torch": r.ssim, "dpsnr": loss}
    worst = min(per_scale.values(), key=lambda v: v["dpsnr"])
    check = {"dataset": images.name, **worst, "images": len(images)}
    if len(scales) > 1:
        check["per_scale"] = per_scale
    return check


def export_model(model_name: str, scale: int | Sequence[int], fmt: str, out_dir: str | os.PathLike, *,
                 precision: str | None = None, weights: str | os.PathLike | None = None,
                 lr_size: tuple[int, int] | None = None, calib_data: str = DEFAULT_CALIBRATION_SET,
                 calib_images: int = 64, check_set: str = "Set5", data_root: str | None = None,
                 profile: tuple | None = None, check: bool = True, quant: str = "auto",
                 pure_int8: bool = False) -> Path:
    """Export and check; returns the artifact's path (its manifest is ``<artifact>.json``).

    ``scale`` is one scale, or several for a multi-scale model: then ONE artifact holds the shared
    parts once and every scale's head, chosen at run time. ``lr_size`` (H, W of the LR image) fixes
    the input shape; ``None`` asks for dynamic H and W, which formats that cannot do refuse.

    ``quant`` chooses the weights a quantized precision starts from: ``qat`` the shipped
    quantization-aware weights, ``ptq`` the float ones (post-training quantization), ``auto`` the
    QAT ones for INT8 where they are shipped (W8A16 loses nothing measurable from the float ones).
    The check holds QAT artifacts to the shipped float weights' PyTorch output. INT8 keeps the
    activations of the model's ``int16_modules`` at 16 bits unless ``pure_int8`` (for accelerators
    without 16-bit activations). With ``check``, an artifact scoring more than the precision's
    ``LOSS_BOUND_DB`` below PyTorch on ``check_set`` is removed and the export fails.
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
    if pure_int8 and precision != row.int8_activations:
        raise ExportError(f"--pure-int8 is for {fmt}'s int8 activations (-p {row.int8_activations or 'int8'}), "
                          f"not -p {precision}")
    weights_are_shipped = weights is None
    weights, method = choose_weights(model_name, scales[0], fmt, precision, weights, quant)
    model = load_model(model_name, scales[0], weights)
    weights_path = Path(weights) if weights else shipped_weights(model_name, scales[0] if model.spec.per_scale else None)
    calibration, range_inputs = {}, None
    if precision in CALIBRATED:  # the calibration images split between the scales
        count = max(1, calib_images // len(scales))
        calibration = {s: calibration_inputs(model, s, calib_data, count, lr_size or (64, 64), data_root)
                       for s in scales}
        if precision == row.int8_activations and "range_inputs" in inspect.signature(exporter).parameters:  # edgesr's ranges
            range_inputs = {s: calibration_images(model, s, calib_data, calib_images, data_root) for s in scales}
    out_dir = Path(out_dir)
    shape = "+".join(f"{h}x{w}" for h, w in sizes) if sizes else "dynamic"
    tag = "-".join(str(s) for s in scales)
    artifact = out_dir / f"{model_name}_x{tag}_{precision}_{shape}{row.suffix}"
    net_sizes = [network_input_size(model, s, scales[0]) for s in sizes]
    size = (net_sizes[0] if len(net_sizes) == 1 else net_sizes) or None
    extra = {"profile": tuple(network_input_size(model, s, scales[0]) for s in profile)} if profile else {}
    if range_inputs is not None:
        extra["range_inputs"] = range_inputs if shared else range_inputs[scales[0]]
    mixed = precision == row.int8_activations and "pure_int8" in inspect.signature(exporter).parameters  # 16-bit parts
    if mixed:
        extra["pure_int8"] = pure_int8
    wide = spec.int16_modules if mixed and not pure_int8 else ()
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
        quantization=row.scheme(precision) + (f"; activations of {', '.join(wide)} in 16 bits, every other "
                                              f"activation 8-bit{row.scheme('int16')}" if wide else ""),
        quant_method=method, int16_modules=tuple(wide),
    )
    write_manifest(artifact, manifest)
    if not check:
        outcome = {"skipped": "not asked for"}
    elif row.runs_here and not row.needs_gpu:
        baseline = load_model(model_name, scales[0]) if method == "qat" and weights_are_shipped else None
        outcome = _check(artifact, model, scales, check_set, data_root, baseline)
        if baseline is not None:
            outcome["baseline"] = "the shipped float weights"
    else:
        outcome = {"skipped": f"{row.runtime} does not run here ({'needs a GPU' if row.needs_gpu else sys.platform})"}
    if fmt == "coreml":  # what can be checked without running it
        from edgesr.export.coreml import describe

        package = describe(artifact)
        outcome["package"] = {"compressed_weight_ops": package["compressed_weight_ops"],
                            "functions": {k: {"inputs": v["inputs"], "outputs": v["outputs"]}
                                          for k, v in package["functions"].items()}}
    write_manifest(artifact, Manifest(**{**manifest.__dict__, "check": outcome}))
    bound = LOSS_BOUND_DB.get(precision)
    if bound is not None and outcome.get("dpsnr", 0.0) < -bound:
        from edgesr.export.manifest import manifest_path

        for path in (artifact, manifest_path(artifact)):
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        hint = ("" if precision not in CALIBRATED else
                "; try --quant qat (weights trained for it), -p w8a16, or more --calib-images" if method == "ptq" else
                "; try -p w8a16 or more --calib-images")
        raise ExportError(f"{fmt} {precision} {model_name} x{tag} scored {outcome['dpsnr']:+.3f} dB against PyTorch on "
                          f"{outcome['dataset']}, beyond the {precision} bound of -{bound} dB; nothing was written{hint}")
    return artifact


QUANT_METHODS = ("auto", "ptq", "qat")


def choose_weights(model_name: str, scale: int, fmt: str, precision: str, weights=None, quant: str = "auto"):
    """The weights file to load (None: the shipped float weights) and the quantization method it
    means. The shipped QAT weights are those trained for the format's weight grid when shipped
    (``shipped_weights``: 7 bits for ONNX Runtime, 8 for the others), else any. ``auto`` takes them
    for INT8 in the formats their ``int8_formats`` names (the formats where they measured better
    than the float weights), the float weights elsewhere; ``qat`` takes them for any format."""
    spec = get_spec(model_name)
    if quant not in QUANT_METHODS:
        raise ExportError(f"unknown quantization method {quant!r}; known: {', '.join(QUANT_METHODS)}")
    if precision not in CALIBRATED:
        if quant == "qat":
            raise ExportError(f"--quant qat is for quantized precisions ({', '.join(CALIBRATED)}), not {precision}")
        return weights, ""
    if weights is not None:  # the user's file: its metadata says whether a QAT run saved it
        return weights, "qat" if quant == "qat" or (quant == "auto" and is_qat(weights)) else "ptq"
    if quant == "ptq" or (quant == "auto" and precision != "int8"):  # W8A16 needs no training for it
        return None, "ptq"
    qat = shipped_weights(model_name, scale if spec.per_scale else None, qat=True,
                          weight_levels=get_format(fmt).weight_levels)
    if qat is not None and quant == "auto" and fmt not in _int8_formats(qat):
        qat = None
    if qat is None and quant == "qat":
        raise ExportError(f"no quantization-aware weights are shipped for {model_name}; train them with a qat: "
                          "section in the training config and pass --weights, or use --quant ptq")
    return (qat, "qat") if qat is not None else (None, "ptq")


def _int8_formats(weights: Path) -> tuple[str, ...]:
    """The formats shipped QAT weights are the INT8 default for (their JSON's ``int8_formats``;
    every format when it names none)."""
    info = weights.with_suffix(".json")
    data = json.loads(info.read_text()) if info.is_file() else {}
    return tuple(data.get("int8_formats", FORMATS))

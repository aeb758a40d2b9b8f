"""``export_model``: one model at one scale to one format and precision, with its manifest and the
export-time check (PSNR of the artifact's output against PyTorch's on real images)."""

from __future__ import annotations

import inspect
import json
import os
import platform
import re
import shutil
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Callable, Sequence

from edgesr.data.datasets import find_images
from edgesr.errors import DataError, EdgesrError, ExportError, ModelError
from edgesr.evaluation.compare import compare_with_truth
from edgesr.export.calibration import DEFAULT_CALIBRATION_SET, calibration_images, calibration_inputs
from edgesr.export.common import network_for_scale, network_input_size
from edgesr.export import quiet
from edgesr.export.formats import (CALIBRATED, QUANT_METHODS, DEFAULT_FIXED_SIZE, FORMATS, check_precision,
                                   get_format)
from edgesr.export.manifest import Manifest, sha256, write_manifest
from edgesr.inference import torch_upscaler, upscale
from edgesr.models.registry import check_model_scale, get_spec
from edgesr.models.profile import activation_bytes_per_pixel
from edgesr.models.weights import is_qat, load_model, shipped_weights
from edgesr.backends import BACKENDS, manifest_tools
from edgesr.runtimes.base import first_line as _first_line
from edgesr.runtimes.torch import receptive_radius

_TOOLS = manifest_tools()  # torch and every backend's packages


def tool_versions() -> dict[str, str]:
    from edgesr.runtimes.measure import cpu_info  # standard library only

    cpu = cpu_info()
    versions = {"python": platform.python_version(), "cpu": cpu["model"], "cpu_int_flags": " ".join(cpu["int_flags"])}
    for name in _TOOLS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _check(artifact: Path, model, scales: tuple[int, ...], images, baseline=None) -> dict:
    """PSNR/SSIM of the artifact's output against PyTorch's (the same weights) and its dPSNR against
    the HR images of ``images`` (artifact minus PyTorch FP32 of ``baseline``, default the same
    weights: QAT weights are held to the float weights they replace), per scale; the top-level
    numbers are the worst scale's."""
    from edgesr.runtimes.registry import open_runner

    per_scale = {}
    for scale in scales:
        with open_runner(artifact, scale, allow_unchecked=True) as runner:  # being checked now
            r, loss = compare_with_truth(lambda lr, s: upscale(runner, lr), torch_upscaler(model), images, scale,
                                         baseline=torch_upscaler(baseline) if baseline is not None else None)
        per_scale[f"x{scale}"] = {"psnr_vs_torch": r.psnr, "ssim_vs_torch": r.ssim, "dpsnr": loss}
    worst = min(per_scale.values(), key=lambda v: v["dpsnr"])
    check = {"dataset": images.name, **worst, "images": len(images)}
    if len(scales) > 1:
        check["per_scale"] = per_scale
    return check


def _failure(outcome: dict, precision: str, backend) -> str | None:
    """What puts a checked artifact beyond its precision's bounds (None: nothing): dPSNR below
    ``-LOSS_BOUND_DB``, or an output further from PyTorch's than ``TORCH_PSNR_FLOOR_DB``."""
    rows = outcome.get("per_scale") or ({"": outcome} if "dpsnr" in outcome else {})
    bound, floor = backend.loss_bound(precision), backend.torch_floor(precision)  # LOSS_BOUND_DB, unless overridden
    for name, row in rows.items():
        at = f" at {name}" if name else ""
        if bound is not None and row["dpsnr"] < -bound:
            return (f"scored {row['dpsnr']:+.3f} dB against PyTorch on {outcome['dataset']}{at} (output "
                    f"{row['psnr_vs_torch']:.2f} dB from PyTorch's), beyond the {precision} bound of -{bound} dB")
        if floor is not None and row["psnr_vs_torch"] < floor:
            return (f"gave an output {row['psnr_vs_torch']:.2f} dB from PyTorch's on {outcome['dataset']}{at} "
                    f"({row['dpsnr']:+.3f} dB PSNR against PyTorch), below the {precision} floor of {floor:g} dB")
    return None


def _min_sizes(model, scales: tuple[int, ...], radius: int) -> tuple[int, int]:
    """The smallest fixed LR input side that holds the receptive radius (``radius`` + 1 network-input
    pixels: each tile then gives its core pixels at least half their context), and the smallest
    that holds the whole receptive field (2 * radius + 1: tiles give PyTorch's output exactly).
    Measured on masrn x4 (radius 10) ONNX FP32, Set5: 1x1 -6.573 dB against PyTorch (25.5 dB from
    its output), 11x11 -0.002 dB (62.4 dB), 16x16 -0.0001 dB (75.8 dB), 21x21 exact (102 dB)."""
    factor = scales[0] if model.spec.upsampling == "pre" else 1
    return -(-(radius + 1) // factor), -(-(2 * radius + 1) // factor)


def _publish(staged: Path, artifact: Path, hold: Path) -> None:
    """Rename the checked artifact, then its manifest, into place. A kill between the two leaves the
    new artifact beside no manifest or the old one, whose sha256 no longer matches: refused."""
    from edgesr.export.manifest import manifest_path

    if staged.is_dir() and (artifact.exists() or artifact.is_symlink()):  # a package replaces a package
        os.replace(artifact, hold / "replaced")
    os.replace(staged, artifact)
    os.replace(manifest_path(staged), manifest_path(artifact))


def export_model(model, scale: int | Sequence[int], fmt: str, out_dir: str | os.PathLike, *,
                 precision: str | None = None, weights: str | os.PathLike | None = None,
                 lr_size: tuple[int, int] | None = None, calib_data: str = DEFAULT_CALIBRATION_SET,
                 calib_images: int = 64, check_set: str = "Set5", data_root: str | None = None,
                 profile: tuple | None = None, check: bool = True, quant: str = "auto",
                 pure_int8: bool = False, verbose: bool = False, log: Callable[[str], None] | None = None) -> Path:
    """Export and check; returns the artifact's path (its manifest is ``<artifact>.json``).

    ``model`` is a model's name (or reference), built with ``weights`` (default: the shipped ones,
    or the QAT ones ``quant`` chooses), or an ``nn.Module`` with a ``spec`` (``create_model`` sets
    it; ``edgesr.export`` sets it from what the call declares), exported as it is, with its current
    weights.

    ``scale`` is one scale, or several for a multi-scale model: then ONE artifact holds the shared
    parts once and every scale's head, chosen at run time. ``lr_size`` (H, W of the LR image) fixes
    the input shape; ``None`` asks for dynamic H and W, which formats that cannot do refuse. A fixed
    size smaller than the model's receptive radius + 1 is refused (its tiles would see too little
    of each pixel's context; 2 * radius + 1 gives PyTorch's output exactly).

    ``quant`` chooses the weights a quantized precision starts from: ``qat`` the shipped
    quantization-aware weights, ``ptq`` the float ones (post-training quantization), ``auto`` the
    QAT ones for INT8 where they are shipped (W8A16 loses nothing measurable from the float ones).
    The check holds QAT artifacts to the shipped float weights' PyTorch output. INT8 keeps the
    activations of the model's ``int16_modules`` at 16 bits unless ``pure_int8`` (for accelerators
    without 16-bit activations).

    The artifact is made under a temporary name beside its place and, with ``check``, run on
    ``check_set`` against PyTorch (a check set that cannot be found fails the export: pass
    ``check=False`` to write it unchecked). One scoring more than the precision's ``LOSS_BOUND_DB``
    below PyTorch, or whose output lies further from PyTorch's than ``TORCH_PSNR_FLOOR_DB``, fails
    the export and nothing is written (an earlier artifact at the same path stays as it was).
    Only a checked (or knowingly unchecked) artifact is renamed into place, then its manifest.

    The converters' own output is held back and printed only when a step fails, or shown as it
    comes with ``verbose``; ``log`` (e.g. ``print``) is told each step as it starts and its seconds
    when it ends.
    """
    scales = (scale,) if isinstance(scale, int) else tuple(dict.fromkeys(scale))
    if not scales:
        raise ExportError("no scale given")
    row = get_format(fmt)
    precision = check_precision(row, precision or row.precisions[0])  # fp32, or fp16 for tensorrt
    model_name, spec = _model_spec(model)
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
        raise ExportError(f"{fmt} takes one input size, not {len(sizes)}; only "
                          f"{' and '.join(b.name for b in BACKENDS.values() if b.enumerated)} enumerates several")
    if profile is not None and not row.profiles:
        raise ExportError(f"an optimization profile is for "
                          f"{' and '.join(b.name for b in BACKENDS.values() if b.profiles)} exports only")
    lr_size = sizes[0] if sizes else None
    if pure_int8 and precision != row.int8_activations:
        raise ExportError(f"--pure-int8 is for {fmt}'s int8 activations (-p {row.int8_activations or 'int8'}), "
                          f"not -p {precision}")
    weights_are_shipped = weights is None and isinstance(model, str)
    model, weights_path, method = _network(model, scales[0], fmt, precision, weights, quant)
    factor = 1 if model.spec.upsampling == "pre" else None
    radius = max(receptive_radius(network_for_scale(model, s), model.spec.channels, factor or s) for s in scales)
    smallest, exact = _min_sizes(model, scales, radius)
    tag = "-".join(str(s) for s in scales)
    for h, w in sizes + ([tuple(profile[-1])] if profile else []):
        if min(h, w) < smallest:
            raise ExportError(f"--input-size {h}x{w} is smaller than {model_name}'s receptive radius at x{tag} "
                              f"(each output pixel reads {radius} input pixels on each side); a fixed input must be "
                              f"at least {smallest}x{smallest}, {exact}x{exact} to give PyTorch's output exactly, "
                              f"and larger runs faster (the default is {DEFAULT_FIXED_SIZE[0]}x{DEFAULT_FIXED_SIZE[1]})")
    checked_here = check and row.runs_here and not row.needs_gpu
    images = None
    if checked_here:  # before the conversion: a missing check set should not cost one
        try:
            images = find_images(check_set, data_root)
        except DataError as exc:
            raise ExportError(f"cannot check the export against PyTorch on {check_set}: {exc}; or pass --no-check "
                              "(check=False) to write it unchecked") from exc
    calibration, range_inputs = {}, None
    if precision in CALIBRATED:  # the calibration images split between the scales
        count = max(1, calib_images // len(scales))
        with quiet.step(f"calibrating on {count * len(scales)} {calib_data} crops", log, verbose):
            calibration = {s: calibration_inputs(model, s, calib_data, count, lr_size or (64, 64), data_root)
                           for s in scales}
            if precision == row.int8_activations and "range_inputs" in inspect.signature(exporter).parameters:
                range_inputs = {s: calibration_images(model, s, calib_data, calib_images, data_root) for s in scales}
    out_dir = Path(out_dir)
    shape = "+".join(f"{h}x{w}" for h, w in sizes) if sizes else "dynamic"
    artifact = out_dir / f"{_file_stem(spec.name)}_x{tag}_{precision}_{shape}{row.suffix}"
    net_sizes = [network_input_size(model, s, scales[0]) for s in sizes]
    size = (net_sizes[0] if len(net_sizes) == 1 else net_sizes) or None
    extra = {"profile": tuple(network_input_size(model, s, scales[0]) for s in profile)} if profile else {}
    if range_inputs is not None:
        extra["range_inputs"] = range_inputs if shared else range_inputs[scales[0]]
    mixed = precision == row.int8_activations and "pure_int8" in inspect.signature(exporter).parameters  # 16-bit parts
    if mixed:
        extra["pure_int8"] = pure_int8
    wide = spec.int16_modules if mixed and not pure_int8 else ()
    out_dir.mkdir(parents=True, exist_ok=True)
    hold = Path(tempfile.mkdtemp(dir=out_dir, prefix=f".{artifact.name}."))  # the staging folder
    try:
        staged = hold / artifact.name
        try:
            with quiet.step(f"converting to {fmt} {precision}", log, verbose):
                if shared:
                    heads, scale_input = exporter(model, staged, scales=scales, precision=precision, input_size=size,
                                                  calibration=calibration or None, **extra)
                else:
                    inp, out = exporter(model, staged, scale=scales[0], precision=precision, input_size=size,
                                        calibration=calibration.get(scales[0]), **extra)
                    heads, scale_input = (), None
        except EdgesrError:  # already one line naming the problem (a missing package, a bad option)
            raise
        except Exception as exc:  # a converter's own failure, named with its type
            said = "; the converter's output is printed above" if getattr(exc, "held_output", "") else ""
            raise ExportError(f"{fmt} {precision} export of {model_name} x{tag} failed: {type(exc).__name__}: "
                              f"{_first_line(exc)}{said}") from exc
        if heads:
            inp, out = heads[0].input, heads[0].output
        manifest = Manifest(
            model=model_name, scales=scales, format=fmt, precision=precision, colour=model.spec.colour,
            upsampling=model.spec.upsampling, input=inp, output=out, artifact_sha256=sha256(staged),
            receptive_radius=radius, activation_bytes_per_pixel=max(activation_bytes_per_pixel(model, s) for s in scales),
            weights_sha256=sha256(weights_path) if weights_path else _state_sha256(model, weights_are_shipped),
            tools=tool_versions(),
            heads=heads, scale_input=scale_input,
            quantization=row.scheme(precision) + (f"; activations of {', '.join(wide)} in 16 bits, every other "
                                                  f"activation 8-bit{row.scheme('int16')}" if wide else ""),
            quant_method=method, int16_modules=tuple(wide),
        )
        write_manifest(staged, manifest)  # check {}: not yet checked, refused by open_runner
        if not check:
            outcome = {"skipped": "not asked for"}
        elif checked_here:
            baseline = load_model(model_name, scales[0]) if method == "qat" and weights_are_shipped else None
            try:
                with quiet.step(f"checking against PyTorch on {images.name}", log, verbose):
                    outcome = _check(staged, model, scales, images, baseline)
            except Exception as exc:  # the runtime refused or failed the new artifact
                reason = str(exc) if isinstance(exc, EdgesrError) else f"{type(exc).__name__}: {_first_line(exc)}"
                raise ExportError(f"the {fmt} {precision} artifact of {model_name} x{tag} failed to run for its check "
                                  f"({reason.replace(str(hold), str(out_dir))}); nothing was written") from exc
            if baseline is not None:
                outcome["baseline"] = "the shipped float weights"
        else:
            outcome = {"skipped": f"{row.runtime} does not run here ({'needs a GPU' if row.needs_gpu else sys.platform})"}
        if row.readback:  # what can be checked without running it
            with quiet.step("reading the package back", None, verbose):  # instant: not reported
                package = row.read_back(staged)
            outcome["package"] = {"compressed_weight_ops": package["compressed_weight_ops"],
                                  "functions": {k: {"inputs": v["inputs"], "outputs": v["outputs"]}
                                                for k, v in package["functions"].items()}}
        failure = _failure(outcome, precision, row)
        if failure is not None:
            hint = ("; try --quant qat (weights trained for it), -p w8a16, or more --calib-images" if method == "ptq" else
                    "; try -p w8a16 or more --calib-images" if precision in CALIBRATED else
                    f"; the {fmt} converter changed what the network computes: try another format or precision, "
                    "and report it with the tool versions (edgesr --version, pip list)")
            raise ExportError(f"{fmt} {precision} {model_name} x{tag} {failure}; nothing was written{hint}")
        write_manifest(staged, Manifest(**{**manifest.__dict__, "check": outcome}))
        _publish(staged, artifact, hold)
    finally:
        shutil.rmtree(hold, ignore_errors=True)
    return artifact




def _model_spec(model) -> tuple[str, object]:
    """The name and spec of a model named by string, or of an ``nn.Module`` that carries its spec."""
    if isinstance(model, str):
        return model, get_spec(model)
    spec = getattr(model, "spec", None)
    if spec is None:
        raise ModelError(f"{type(model).__name__} has no spec (what the pipeline needs: colour, upsampling, scales); "
                         "build it with create_model, or export it with edgesr.export(..., colour=, upsampling=, "
                         "scales=)")
    return spec.name, spec


def _network(model, scale: int, fmt: str, precision: str, weights, quant: str):
    """The network to export, the weights file it was loaded from (None: the module's own, or no
    file) and the quantization method: a named model loads the weights ``choose_weights`` gives; a
    module is exported as it is (its INT8 method is ``qat`` only when asked for)."""
    if isinstance(model, str):
        weights, method = choose_weights(model, scale, fmt, precision, weights, quant)
        network = load_model(model, scale, weights)
        path = Path(weights) if weights else shipped_weights(model, scale if network.spec.per_scale else None)
        return network, path, method
    if weights is not None:
        raise ExportError("weights= is for a model named by string; load them into the module before exporting it")
    if quant not in QUANT_METHODS:
        raise ExportError(f"unknown quantization method {quant!r}; known: {', '.join(QUANT_METHODS)}")
    if precision not in CALIBRATED:
        if quant == "qat":
            raise ExportError(f"--quant qat is for quantized precisions ({', '.join(CALIBRATED)}), not {precision}")
        return model.eval(), None, ""
    return model.eval(), None, "qat" if quant == "qat" else "ptq"


def _state_sha256(model, named: bool) -> str | None:
    """sha256 over a module's tensors (names and bytes, in order): the identity of weights that were
    never a file. None for a named model without a weights file (nothing to name)."""
    if named:
        return None
    import hashlib

    h = hashlib.sha256()
    for key, value in sorted(model.state_dict().items()):
        h.update(key.encode() + b"\0" + value.detach().cpu().contiguous().numpy().tobytes() + b"\0")
    return h.hexdigest()


def _file_stem(name: str) -> str:
    """A model's name as the start of a file name (characters a file name should not hold become ``_``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "model"


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

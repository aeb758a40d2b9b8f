"""``export_model``: one model at one scale to one format and precision, with its manifest and the
export-time check (PSNR of the artifact's output against PyTorch's on real images)."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Callable, Sequence

from edgesr.conversion import quiet
from edgesr.conversion.options import ExportOptions
from edgesr.data.calibration import calibration_images, calibration_inputs
from edgesr.data.datasets import find_images
from edgesr.errors import DataError, EdgesrError, ExportError, ModelError
from edgesr.errors import first_line as _first_line
from edgesr.evaluation.compare import compare_with_truth
from edgesr.formats import CALIBRATED, DEFAULT_FIXED_SIZE, FORMATS, QUANT_METHODS, get_format, manifest_tools
from edgesr.formats.base import Conversion
from edgesr.formats.census import census
from edgesr.formats.registry import embed_contract
from edgesr.inference import torch_upscaler, upscale
from edgesr.manifest import Manifest, Skip, sha256, write_manifest
from edgesr.models.profile import activation_bytes_per_pixel
from edgesr.models.registry import check_model_scale, get_spec
from edgesr.models.scale import network_for_scale, network_input_size
from edgesr.models.weights import is_qat, load_model, shipped_weights
from edgesr.runtimes.torch import receptive_radius

_TOOLS = manifest_tools()  # torch and every format's packages


def tool_versions() -> dict[str, str]:
    from edgesr.runtimes.measure import cpu_info  # standard library only

    cpu = cpu_info()
    from edgesr import __version__

    versions = {"edgesr": __version__, "python": platform.python_version(), "cpu": cpu["model"], "cpu_int_flags": " ".join(cpu["int_flags"])}
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
    from edgesr.formats.registry import open_runner

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


def _failure(outcome: dict, precision: str, format_) -> str | None:
    """What puts a checked artifact beyond its precision's bounds (None: nothing): dPSNR below
    ``-LOSS_BOUND_DB``, or an output further from PyTorch's than ``TORCH_PSNR_FLOOR_DB``."""
    rows = outcome.get("per_scale") or ({"": outcome} if "dpsnr" in outcome else {})
    bound, floor = format_.loss_bound(precision), format_.torch_floor(precision)  # LOSS_BOUND_DB, unless overridden
    from edgesr.manifest import torch_psnr

    for name, row in rows.items():
        at, psnr = f" at {name}" if name else "", torch_psnr(row)  # null in a manifest: identical outputs
        if bound is not None and row["dpsnr"] < -bound:
            return (f"scored {row['dpsnr']:+.3f} dB against PyTorch on {outcome['dataset']}{at} (output "
                    f"{psnr:.2f} dB from PyTorch's), beyond the {precision} bound of -{bound} dB")
        if floor is not None and psnr < floor:
            return (f"gave an output {psnr:.2f} dB from PyTorch's on {outcome['dataset']}{at} "
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


# an export's staging folder in the output folder: .edgesr-staging-PID-XXXX (removed when it ends)
STAGING = ".edgesr-staging-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_staging(out_dir: Path) -> list[Path]:
    """Remove the staging folders that exports killed outright (kill -9, a power cut) left in
    ``out_dir``: those whose process is gone. A running export's folder is left alone."""
    removed = []
    for folder in out_dir.glob(f"{STAGING}*"):
        pid = folder.name[len(STAGING):].partition("-")[0]
        if folder.is_dir() and not folder.is_symlink() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _publish(staged: Path, artifact: Path, hold: Path) -> None:
    """Rename the checked artifact, then its manifest, into place. A kill between the two leaves the
    new artifact beside no manifest or the old one, whose sha256 no longer matches: refused."""
    from edgesr.manifest import manifest_path

    if staged.is_dir() and (artifact.exists() or artifact.is_symlink()):  # a package replaces a package
        os.replace(artifact, hold / "replaced")
    os.replace(staged, artifact)
    os.replace(manifest_path(staged), manifest_path(artifact))


def export_model(model, scale: int | Sequence[int], fmt: str, out_dir: str | os.PathLike, *,
                 lr_size: tuple[int, int] | Sequence[tuple[int, int]] | None = None,
                 log: Callable[[str], None] | None = None, **options) -> Path:
    """``run_export`` with the options given loosely: one scale or several, ``lr_size`` one (H, W) or
    several, and the other :class:`~edgesr.conversion.options.ExportOptions` fields as keywords
    (``precision``, ``weights``, ``calib_data``, ``calib_images``, ``check_set``, ``data_root``,
    ``profile``, ``check``, ``quant``, ``pure_int8``, ``io``, ``verbose``)."""
    return run_export(model, ExportOptions.build(scale, fmt, input_size=lr_size, **options), out_dir, log=log)


def run_export(model, opts: ExportOptions, out_dir: str | os.PathLike, *,
               log: Callable[[str], None] | None = None) -> Path:
    """Export and check ``model`` as ``opts`` say; returns the artifact's path (its manifest is
    ``<artifact>.json``).

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
    The check holds QAT artifacts to the shipped float weights' PyTorch output. INT8 is edgesr's
    scheme (``edgesr.train.qat``: every activation 8-bit, 63-step weights), the same numbers in every
    format; a model that declares ``int16_modules`` (none shipped does) keeps their activations at
    16 bits unless ``pure_int8`` (for accelerators without 16-bit activations).

    ``io`` is what the artifact takes and gives, one of the format's ``Format.io``: ``tensor`` (the
    default: float tensors on [0, 1]; LiteRT INT8 int8), ``image`` (Core ML images, 0-255, for
    Vision and Xcode's preview) or ``uint8`` (LiteRT INT8 with uint8 pixels in and out). The I/O
    contract (:mod:`edgesr.metadata`) is written inside the artifact before its sha256 is taken.

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
    job = _plan(model, opts)
    if not job.row.installed():  # a missing converter: the one line naming its install, before any work
        from edgesr._deps import require

        require(job.row.converter_package, job.row.extra, install=job.row.install or None)
    profile, verbose = opts.profile, opts.verbose
    weights_are_shipped = opts.weights is None and isinstance(model, str)
    model, weights_path, method = _network(model, job.scales[0], opts.format, job.precision, opts.weights, opts.quant)
    job.radius = _check_fixed_sizes(job, model, profile)
    _check_memory(job, model, profile)
    images = None
    if opts.check and job.checked_here:  # before the conversion: a missing check set should not cost one
        try:
            images = find_images(opts.check_set, opts.data_root)
        except DataError as exc:
            raise ExportError(f"cannot check the export against PyTorch on {opts.check_set}: {exc}; or pass --no-check "
                              "(check=False) to write it unchecked") from exc
    out_dir = Path(out_dir)
    _check_out_dir(out_dir, job, images, opts.calib_data, opts.data_root)
    calibration, range_inputs = _calibrate(job, model, opts.calib_data, opts.calib_images, opts.data_root, log,
                                           verbose)
    artifact = out_dir / f"{_file_stem(job.spec.name)}_x{job.tag}_{job.precision}_{job.shape}{job.row.suffix}"
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out_dir)
    hold = Path(tempfile.mkdtemp(dir=out_dir, prefix=f"{STAGING}{os.getpid()}-"))  # the staging folder
    try:
        staged = hold / artifact.name
        io = _convert(job, model, staged, calibration, range_inputs, profile, opts.pure_int8, log, verbose,
                      targets=opts.targets)
        manifest = _manifest(job, model, io, method,
                             sha256(weights_path) if weights_path else _state_sha256(model, weights_are_shipped))
        if job.row.metadata:  # the I/O contract inside the artifact, before its sha256
            with quiet.step("writing the I/O contract into the artifact", None, verbose):
                embed_contract(staged, manifest.contract())
        manifest = Manifest(**{**manifest.__dict__, "artifact_sha256": sha256(staged), "ops": census(staged, job.row.name)})
        write_manifest(staged, manifest)  # check {}: not yet checked, refused by open_runner
        baseline = (load_model(job.model_name, job.scales[0])
                    if opts.check and images is not None and method == "qat" and weights_are_shipped else None)
        outcome = _outcome(job, model, staged, opts.check, images, baseline, hold, out_dir, log, verbose)
        failure = _failure(outcome, job.precision, job.row)
        if failure is not None:
            raise ExportError(f"{job.row.name} {job.precision} {job.model_name} x{job.tag} {failure}; nothing was written"
                              f"{_failure_hint(job, method)}")
        write_manifest(staged, Manifest(**{**manifest.__dict__, "check": outcome}))
        _publish(staged, artifact, hold)
    finally:
        shutil.rmtree(hold, ignore_errors=True)
    return artifact


@dataclass
class _Job:
    """One export as planned from its arguments, before the network is built."""

    row: object  # the format's Format
    precision: str
    scales: tuple[int, ...]
    model_name: str
    spec: object
    sizes: list[tuple[int, int]]  # fixed LR input sizes ([]: dynamic)
    io: str = "tensor"
    radius: int = 0

    @property
    def shared(self) -> bool:
        return len(self.scales) > 1

    @property
    def tag(self) -> str:
        return "-".join(str(s) for s in self.scales)

    @property
    def shape(self) -> str:
        return "+".join(f"{h}x{w}" for h, w in self.sizes) if self.sizes else "dynamic"

    @property
    def lr_size(self) -> tuple[int, int] | None:
        return self.sizes[0] if self.sizes else None

    @property
    def checked_here(self) -> bool:
        return self.row.runs_here and not self.row.needs_gpu


def _plan(model, opts: ExportOptions) -> _Job:
    """Refuse what the model cannot do as ``opts`` ask (the options themselves are checked), before
    anything is built."""
    row = get_format(opts.format)
    model_name, spec = _model_spec(model)
    for s in opts.scales:
        check_model_scale(spec, s)
    if opts.shared and not spec.multi_scale:
        raise ExportError(f"{model_name} has one network per scale; export its scales one at a time "
                          "(only multi-scale models such as masrn share a trunk)")
    row.check_shared(opts.shared)
    sizes = list(opts.input_sizes) or ([DEFAULT_FIXED_SIZE] if not row.dynamic else [])  # larger images run as tiles
    return _Job(row, opts.precision, opts.scales, model_name, spec, sizes, opts.io_mode)


def _check_fixed_sizes(job: _Job, model, profile) -> int:
    """The receptive radius over the scales; refuses fixed sizes (and a profile's largest) below it."""
    factor = 1 if model.spec.upsampling == "pre" else None
    radius = max(receptive_radius(network_for_scale(model, s), model.spec.channels, factor or s) for s in job.scales)
    smallest, exact = _min_sizes(model, job.scales, radius)
    for h, w in job.sizes + ([tuple(profile[-1])] if profile else []):
        if min(h, w) < smallest:
            raise ExportError(f"--input-size {h}x{w} is smaller than {job.model_name}'s receptive radius at x{job.tag} "
                              f"(each output pixel reads {radius} input pixels on each side); a fixed input must be "
                              f"at least {smallest}x{smallest}, {exact}x{exact} to give PyTorch's output exactly, "
                              f"and larger runs faster (the default is {DEFAULT_FIXED_SIZE[0]}x{DEFAULT_FIXED_SIZE[1]})")
    return radius


# an export at a fixed size holds several copies of the network's activations at that size at once (the
# converter's trace, the check's runtime session and PyTorch's run). Measured as the growth of peak RSS
# from 256x256 to 512x512 against 2304 bytes per LR pixel of masrn x4's largest layer (FP32, with the
# check; `/usr/bin/time -v edgesr export -m masrn -s 4 -f F --input-size SxS`, AMD EPYC, 2 cores):
# ONNX 1.45 -> 4.27 GB (6.2 copies), LiteRT 1.48 -> 3.57 (4.6), ExecuTorch 1.23 -> 3.33 (4.6),
# OpenVINO 0.89 -> 1.67 (1.7). 8 covers every format measured.
_EXPORT_ACTIVATION_COPIES = 8


def _check_memory(job: _Job, model, profile) -> None:
    """Refuse, before any work, a fixed input size (or a profile's largest) whose export cannot fit in
    the memory available now (as upscale refuses or tiles a frame that cannot)."""
    from edgesr.runtimes.base import available_memory

    sizes = job.sizes + ([tuple(profile[-1])] if profile else [])
    free = available_memory()
    if not sizes or free is None:
        return
    for scale in job.scales:
        per_pixel = activation_bytes_per_pixel(network_for_scale(model, scale), scale)
        for h, w in sizes:
            nh, nw = network_input_size(model, (h, w), scale)
            need = _EXPORT_ACTIVATION_COPIES * per_pixel * nh * nw
            if need > free:
                raise ExportError(f"an export at {h}x{w} (x{scale}) needs about {need / 2**30:.0f} GiB, more than the "
                                  f"{free / 2**30:.1f} GiB available; export a smaller --input-size (a runner tiles larger "
                                  "images with it) or a dynamic size (no --input-size, where the format takes one)")


def _check_out_dir(out_dir: Path, job: _Job, images, calib_data: str, data_root) -> None:
    """The output folder holds none of the images the export reads (the check set's, the calibration
    set's): an artifact and its manifest would join a set of images (edgesr.data.batch's rule)."""
    from edgesr.data.batch import check_folder

    inputs = list(images.files) if images is not None else []
    if job.precision in CALIBRATED:
        inputs += find_images(calib_data, data_root).files
    check_folder(out_dir, inputs, "images (of the check or calibration set)")


def _calibrate(job: _Job, model, calib_data: str, calib_images: int, data_root, log, verbose):
    """Calibration inputs per scale (quantized precisions; the images split between the scales) and,
    for exporters that take them, the whole images edgesr's INT8 ranges are measured on."""
    if job.precision not in CALIBRATED:
        return {}, None
    count = max(1, calib_images // len(job.scales))
    with quiet.step(f"calibrating on {count * len(job.scales)} {calib_data} crops", log, verbose):
        calibration = {s: calibration_inputs(model, s, calib_data, count, job.lr_size or (64, 64), data_root)
                       for s in job.scales}
        range_inputs = None
        if job.precision == job.row.int8_activations:
            range_inputs = {s: calibration_images(model, s, calib_data, calib_images, data_root) for s in job.scales}
    return calibration, range_inputs


def _convert(job: _Job, model, staged: Path, calibration: dict, range_inputs, profile, pure_int8: bool,
             log, verbose, targets: tuple[str, ...] = ()) -> dict:
    """Run the format's exporter into ``staged``: the input and output tensors, the heads of a
    shared-trunk artifact and its scale input, and the modules kept at 16 bits."""
    net_sizes = [network_input_size(model, s, job.scales[0]) for s in job.sizes]
    mixed = job.precision == job.row.int8_activations and job.row.mixed_int16  # 16-bit parts
    conversion = Conversion(
        job.scales, job.precision, input_size=(net_sizes[0] if len(net_sizes) == 1 else net_sizes) or None,
        calibration=calibration or {}, range_inputs=range_inputs, pure_int8=pure_int8 if mixed else None,
        io=job.io if job.io != job.row.io[0] else None,  # only formats that offer other I/O take the option
        profile=tuple(network_input_size(model, s, job.scales[0]) for s in profile) if profile else None,
        targets=targets)
    try:
        with quiet.step(f"converting to {job.row.name} {job.precision}", log, verbose):
            exported = job.row.export(model, staged, conversion)
    except EdgesrError:  # already one line naming the problem (a missing package, a bad option)
        raise
    except Exception as exc:  # a converter's own failure, named with its type
        said = "; the converter's output is printed above" if getattr(exc, "held_output", "") else ""
        raise ExportError(f"{job.row.name} {job.precision} export of {job.model_name} x{job.tag} failed: "
                          f"{type(exc).__name__}: {_first_line(exc)}{said}") from exc
    return {"heads": exported.heads, "scale_input": exported.scale_input, "input": exported.input,
            "output": exported.output, "targets": exported.targets,
            "wide": job.spec.int16_modules if mixed and not pure_int8 else ()}


def _manifest(job: _Job, model, io: dict, method: str, weights_sha256: str | None) -> Manifest:
    """The new artifact's manifest, its check and sha256 still empty."""
    wide, row = io["wide"], job.row
    return Manifest(
        model=job.model_name, scales=job.scales, format=row.name, precision=job.precision, colour=model.spec.colour,
        upsampling=model.spec.upsampling, input=io["input"], output=io["output"], artifact_sha256="",
        receptive_radius=job.radius,
        activation_bytes_per_pixel=max(activation_bytes_per_pixel(model, s) for s in job.scales),
        weights_sha256=weights_sha256, tools=tool_versions(), heads=io["heads"], scale_input=io["scale_input"],
        quantization=row.scheme(job.precision) + row.io_schemes.get(job.io, "") + (f"; activations of {', '.join(wide)} in 16 bits, every other "
                                                  f"activation 8-bit{row.scheme('int16')}" if wide else ""),
        quant_method=method, int16_modules=tuple(wide), io=job.io, scheme=row.quant_scheme(job.precision, bool(wide)),
        targets=tuple(io["targets"]),
    )


def _outcome(job: _Job, model, staged: Path, check: bool, images, baseline, hold: Path, out_dir: Path, log,
             verbose) -> dict:
    """The manifest's ``check``: the artifact run against PyTorch on ``images`` (found when the check
    runs here), or why it was not run, plus what reading a package back shows."""
    row = job.row
    if not check:
        outcome = Skip.NOT_ASKED.check("not asked for")
    elif images is not None:
        try:
            with quiet.step(f"checking against PyTorch on {images.name}", log, verbose):
                outcome = _check(staged, model, job.scales, images, baseline)
        except Exception as exc:  # the runtime refused or failed the new artifact
            reason = str(exc) if isinstance(exc, EdgesrError) else f"{type(exc).__name__}: {_first_line(exc)}"
            raise ExportError(f"the {row.name} {job.precision} artifact of {job.model_name} x{job.tag} failed to run "
                              f"for its check ({reason.replace(str(hold), str(out_dir))}); nothing was written") from exc
        if baseline is not None:
            outcome["baseline"] = "the shipped float weights"
    else:
        outcome = Skip.NOT_HERE.check(f"{row.runtime} does not run here "
                                      f"({'needs a GPU' if row.needs_gpu else sys.platform})")
    if row.readback:  # what can be checked without running it
        with quiet.step("reading the package back", None, verbose):  # instant: not reported
            package = row.read_back(staged)
        outcome["package"] = {"compressed_weight_ops": package["compressed_weight_ops"],
                              "functions": {k: {"inputs": v["inputs"], "outputs": v["outputs"]}
                                            for k, v in package["functions"].items()}}
    return outcome


def _failure_hint(job: _Job, method: str) -> str:
    if method == "ptq":
        return "; try --quant qat (weights trained for it), -p w8a16, or more --calib-images"
    if job.precision in CALIBRATED:
        return "; try -p w8a16 or more --calib-images"
    return (f"; the {job.row.name} converter changed what the network computes: try another format or precision, "
            "and report it with the tool versions (edgesr --version, pip list)")




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
    if precision not in CALIBRATED:
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
    means. ``auto`` takes the shipped QAT weights (trained for the INT8 scheme every format's INT8
    computes) for the format's INT8 precision (Core ML: w8a8) where their ``int8_formats`` names the
    format (every format when it names none), the float weights elsewhere; ``qat`` takes them for
    any quantized precision."""
    spec = get_spec(model_name)
    if quant not in QUANT_METHODS:
        raise ExportError(f"unknown quantization method {quant!r}; known: {', '.join(QUANT_METHODS)}")
    if precision not in CALIBRATED:
        if quant == "qat":
            raise ExportError(f"--quant qat is for quantized precisions ({', '.join(CALIBRATED)}), not {precision}")
        return weights, ""
    if weights is not None:  # the user's file: its metadata says whether a QAT run saved it
        return weights, "qat" if quant == "qat" or (quant == "auto" and is_qat(weights)) else "ptq"
    # auto: QAT weights for the precision that computes the INT8 scheme (int8; Core ML: w8a8); W8A16
    # and Core ML's weight-only int8 need no training for their rounding
    if quant == "ptq" or (quant == "auto" and precision != get_format(fmt).int8_activations):
        return None, "ptq"
    qat = shipped_weights(model_name, scale if spec.per_scale else None, qat=True)
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

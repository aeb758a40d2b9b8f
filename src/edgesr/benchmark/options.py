"""What ``edgesr bench`` is asked to do, and the checks that refuse a bad request before anything slow.

:func:`check_options` refuses an unknown format, precision, quantization method, model, scale,
device profile or benchmark set with one line, before the PyTorch baseline and before any export;
the CLI calls it first thing and :func:`edgesr.benchmark.harness.bench` calls it again, so the API gets
the same checks. This module does not import the harness or torch itself: the checks run in the
order of what they cost, the format and precision names, the device profile and the benchmark set
first, the quantization methods, model and scales last. The browser device is refused here when a
tool it needs is missing (one line naming each install) or when ``--formats`` leaves it nothing to
run (it runs ONNX artifacts only); it is not started here. The CLI checks its output folders with
:func:`edgesr._files.check_writable` before a run that would otherwise lose its results at the end.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from edgesr.data.datasets import DATA_ENV, ImageSet, data_root, find_images, known_sets
from edgesr.errors import ConfigError, DataError
from edgesr.runtimes.torch_modes import TORCH_MODES, TORCH_PRECISIONS

if TYPE_CHECKING:
    from edgesr.devices.profiles import DeviceProfile

# the benchmark set when none is named; only it falls back to scikit-image's photographs
DEFAULT_DATASET = "Set5"
# the --formats name of PyTorch's own rows (its precisions and modes, beside the FP32 eager baseline)
PYTORCH = "pytorch"


@dataclass
class BenchOptions:
    model: str = "masrn"
    scales: tuple[int, ...] = (4,)
    formats: tuple[str, ...] | None = None  # None: every format whose converter is installed (cuda: pytorch, GPU formats)
    precisions: tuple[str, ...] | None = None
    # for int8 and w8a16: the weights to quantize, each giving its own rows (auto: QAT where shipped)
    quant: tuple[str, ...] = ("auto",)
    # None: Set5, or scikit-image's photographs (labelled as such) when no data root holds Set5; a set
    # named here must be found
    dataset: str | None = None
    data_root: str | None = None
    input_size: tuple[int, int] = (256, 256)  # LR input of the latency runs (and fixed-shape exports)
    weights: str | None = None
    cache: Path = field(default_factory=lambda: Path(os.environ.get("EDGESR_CACHE", Path.home() / ".cache" / "edgesr"))
                        / "bench")
    calib_images: int = 32
    device: str = "local"  # or a device profile: a .toml path, or a name in --devices-dir / $EDGESR_DEVICES
    devices_dir: str | None = None
    threads: int = 0  # CPU threads of every runtime that takes a count (0: every core of the device)
    warmup: int = 2
    min_runs: int = 5
    min_seconds: float = 2.0
    torch_modes: tuple[str, ...] | None = None  # the pytorch rows' modes (None: every mode)
    gpu_baseline: str | None = None  # a desktop GPU bench report or folder of them (None: the default one)


@dataclass(frozen=True)
class Checked:
    """What the checks found: the device profile, the benchmark set (None: scikit-image's photos),
    and the desktop GPU's rows with where they were looked for (:func:`edgesr.benchmark.desktop.load_baseline`)."""

    profile: DeviceProfile
    images: ImageSet | None
    gpu: tuple[list, str] = ([], "")


def _names(values) -> str:
    return ", ".join(repr(v) for v in values)


def _precisions(name: str) -> tuple[str, ...]:
    from edgesr.formats import FORMATS

    return TORCH_PRECISIONS if name == PYTORCH else FORMATS[name].precisions


def chosen_formats(opts: BenchOptions, kind: str = "local") -> tuple[str, ...]:
    """The formats a bench on a device of ``kind`` covers: ``--formats``, else every format (on the
    ``cuda`` device: PyTorch's own rows and the formats that run on an NVIDIA GPU)."""
    from edgesr.formats import FORMATS

    if opts.formats is not None:
        return opts.formats
    if kind == "cuda":
        return (PYTORCH,) + tuple(name for name, row in FORMATS.items() if row.needs_gpu)
    return tuple(FORMATS)


def check_formats(opts: BenchOptions, kind: str = "local") -> None:
    """``--formats``, ``--precisions`` and ``--torch-modes``: every name known, every precision asked
    for taken by a format asked for, and every format asked for left with a row."""
    from edgesr.formats import FORMATS

    known = (*FORMATS, PYTORCH)
    unknown = [f for f in opts.formats or () if f not in known]
    if unknown:
        raise ConfigError(f"unknown format {_names(unknown)} in --formats; known formats: {', '.join(known)}")
    chosen = chosen_formats(opts, kind)
    if opts.torch_modes is not None:
        unknown = [m for m in opts.torch_modes if m not in TORCH_MODES]
        if unknown or not opts.torch_modes:
            raise ConfigError(f"unknown PyTorch mode {_names(unknown)} in --torch-modes; known: {', '.join(TORCH_MODES)}"
                              if unknown else f"--torch-modes names no mode; known: {', '.join(TORCH_MODES)}")
        if PYTORCH not in chosen:
            raise ConfigError(f"--torch-modes sets the {PYTORCH} rows' modes, and --formats leaves them out: "
                              f"add {PYTORCH} to --formats")
    if opts.precisions is None:
        return
    every = list(dict.fromkeys(p for name in known for p in _precisions(name)))
    unknown = [p for p in opts.precisions if p not in every]
    if unknown:
        raise ConfigError(f"unknown precision {_names(unknown)} in --precisions; known precisions: {', '.join(every)}")
    for precision in opts.precisions:
        if not any(precision in _precisions(f) for f in chosen):
            takers = [f for f in known if precision in _precisions(f)]
            raise ConfigError(f"no format in --formats takes {precision} (only {', '.join(takers)} does)")
    for name in opts.formats or ():
        if not set(_precisions(name)) & set(opts.precisions):
            raise ConfigError(f"{name} takes none of --precisions {','.join(opts.precisions)}; "
                              f"its precisions: {', '.join(_precisions(name))}")


def check_quant(opts: BenchOptions) -> None:
    from edgesr.formats import QUANT_METHODS

    if not opts.quant:
        raise ConfigError(f"--quant names no method; known: {', '.join(QUANT_METHODS)}")
    unknown = [m for m in opts.quant if m not in QUANT_METHODS]
    if unknown:
        raise ConfigError(f"unknown quantization method {_names(unknown)} in --quant; "
                          f"known: {', '.join(QUANT_METHODS)}")


def check_model(opts: BenchOptions) -> None:
    from edgesr.models.registry import check_model_scale, get_spec

    spec = get_spec(opts.model)
    if not opts.scales:
        raise ConfigError("no scale to bench: pass --scales such as 2,3,4")
    twice = sorted({s for s in opts.scales if opts.scales.count(s) > 1})
    if twice:
        raise ConfigError(f"--scales names {', '.join(f'x{s}' for s in twice)} more than once")
    for s in opts.scales:
        check_model_scale(spec, s)


def find_benchmark(dataset: str | None, root: str | os.PathLike | None) -> ImageSet | None:
    """The benchmark set; None means scikit-image's photographs stand in: only when no set was
    named and no data root holds Set5. A set that was named and is not found is refused, with the
    sets there are (or the known names)."""
    if dataset is not None:
        try:
            return find_images(dataset, root)
        except DataError as exc:
            if dataset.lower() not in {name.lower() for name in known_sets()}:
                raise  # an unknown name or folder: the message lists the known sets
            raise DataError(f"{exc}{_sets_there(root)}") from None
    try:
        return find_images(DEFAULT_DATASET, root)
    except DataError:
        if root is not None or os.environ.get(DATA_ENV):  # a data root was given: it must be a folder
            base = data_root(root)
            if (base / DEFAULT_DATASET).exists():  # there, but not usable (no images): say so
                raise
    if importlib.util.find_spec("skimage") is None:
        raise DataError(f"no {DEFAULT_DATASET} found (pass --data-root or set {DATA_ENV} to the folder holding the "
                        "benchmark sets), and scikit-image, whose photographs are the fallback, is not installed: "
                        "pip install scikit-image")
    return None


def _sets_there(root) -> str:
    """``"; sets found there: ..."`` for a data root that exists, else nothing (the error says why)."""
    try:
        base = data_root(root)
    except DataError:
        return ""
    found = []
    for name in known_sets():
        try:
            find_images(name, base)
            found.append(name)
        except DataError:
            pass
    return f"; sets found under {base}: {', '.join(found)}" if found else \
        f"; no known set is under {base} (known: {', '.join(known_sets())})"


def _check_browser(profile: DeviceProfile, opts: BenchOptions) -> None:
    from edgesr.devices.browser import BROWSER_FORMATS, ONLY_ONNX, check_tools

    if opts.formats is not None and not set(opts.formats) & set(BROWSER_FORMATS):
        raise ConfigError(f"--formats {','.join(opts.formats)} leaves device {profile.name} nothing to run: "
                          f"{ONLY_ONNX}; add {','.join(BROWSER_FORMATS)}")
    check_tools(profile)


def check_options(opts: BenchOptions) -> Checked:
    """Refuse a request ``bench`` cannot carry out, before it runs anything; the cheap checks first."""
    from edgesr.devices.profiles import HERE, load_profile

    profile = load_profile(opts.device, opts.devices_dir)
    if profile.kind == "browser":
        _check_browser(profile, opts)
    images = find_benchmark(opts.dataset, opts.data_root)
    if opts.threads < 0:
        raise ConfigError(f"--threads must be 0 (every core) or more, got {opts.threads}")
    if profile.kind in HERE:  # a device's cores are its own
        from edgesr.runtimes.measure import check_threads

        check_threads(opts.threads)
    h, w = opts.input_size
    if h < 1 or w < 1:
        raise ConfigError(f"--input-size must be positive, got {h}x{w}")
    check_formats(opts, profile.kind)
    check_quant(opts)
    check_model(opts)
    from edgesr.benchmark.desktop import load_baseline

    gpu = load_baseline(opts.gpu_baseline)  # a file named that is not a bench report: refused now, not at the end
    return Checked(profile, images, gpu)



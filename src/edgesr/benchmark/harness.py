"""``edgesr bench``: export what is needed (cached), run each artifact in a fresh process, score its
outputs on the host, and compare with the PyTorch FP32 baseline. One failing format never stops
the others: its row says what failed."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from edgesr.benchmark.cache import export_cached
from edgesr.benchmark.options import PYTORCH, BenchOptions, check_options, find_benchmark
from edgesr.benchmark.plan import plan, torch_plan
from edgesr.benchmark.report import FAILURES, Status, failed_rows, row_name
from edgesr.benchmark.devices import Remote, connect, measure_peaks
from edgesr.benchmark.rows import Target, add_efficiency, frame_gflop, make_row, weights_digests
from edgesr.data.datasets import ImageSet
from edgesr.data.degrade import degrade
from edgesr.data.io import read_image, write_image
from edgesr.errors import EdgesrError
from edgesr.evaluation.evaluate import score_image
from edgesr.formats import FORMATS
from edgesr.formats.base import LOSS_BOUND_DB
from edgesr.inference import SRImage
from edgesr.manifest import artifact_bytes, read_manifest
from edgesr.models.registry import get_spec

# the report's statuses and helpers, where the bench's callers have always found them
__all__ = ["FAILURES", "BenchOptions", "Status",
           "bench", "benchmark_images", "failed_rows", "plan", "row_name", "run_worker", "torch_plan"]


def benchmark_images(dataset: str | None, data_root: str | None, folder: Path) -> tuple[ImageSet, str]:
    """The benchmark set and its label. With no set named and no data root holding Set5: the
    photographs scikit-image ships, written to ``folder`` (the caller's to remove) and labelled as
    such. A set that was named and is not found is refused (``find_benchmark``)."""
    images = find_benchmark(dataset, data_root)
    if images is not None:
        return images, images.name
    from skimage import data as photos

    for name in ("astronaut", "chelsea", "coffee", "rocket", "camera"):
        write_image(Path(folder) / f"{name}.png", getattr(photos, name)())
    return ImageSet("scikit-image photos", tuple(sorted(Path(folder).glob("*.png")))), \
        "scikit-image photos (no benchmark set found; not Set5)"


def run_worker(request: dict, workdir: Path) -> dict:
    """One measurement in a fresh Python process (so its memory figures are its own)."""
    req_path = workdir / "request.json"
    req_path.write_text(json.dumps(request))
    proc = subprocess.run([sys.executable, "-m", "edgesr.benchmark.worker", str(req_path)],
                          capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"ok": False, "error": f"worker exited with {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def _score(out_dir: Path, hrs: dict[str, np.ndarray], scale: int) -> tuple[float, float]:
    psnrs, ssims = [], []
    for name, hr in hrs.items():
        y = np.load(out_dir / f"{name}.npy")
        p, s = score_image(SRImage(image=np.empty(0, np.uint8), y=y), hr, scale)
        psnrs.append(p)
        ssims.append(s)
    return float(np.mean(psnrs)), float(np.mean(ssims))


@dataclass
class Session:
    """What every row of one bench shares: the options, the working folder (removed at the end),
    where the baseline runs, how to time, the LR inputs and HR images per scale, the baseline's
    measurements per scale, and the device (None: this machine)."""

    opts: BenchOptions
    tmp: Path
    device: str
    log: Callable[[str], None]
    remote: Remote | None = None
    threads: int = 0  # this machine's threads for every runtime that takes a count
    lr_dirs: dict[int, Path] = field(default_factory=dict)
    hrs: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    baseline: dict[int, dict] = field(default_factory=dict)
    peaks: dict[str, dict] = field(default_factory=dict)  # per device a row runs on: its matrix-product peak

    @property
    def timing(self) -> dict:
        o = self.opts
        return {"input_size": list(o.input_size), "warmup": o.warmup, "min_runs": o.min_runs,
                "min_seconds": o.min_seconds, "threads": self.threads}


def bench(opts: BenchOptions, log: Callable[[str], None] = lambda _: None) -> dict:
    """Every planned (format, precision) at every scale, plus the baseline; returns the report dict.
    A bad request is refused (``check_options``) before anything runs; a row that fails says why in
    its status and reason, and ``failed_rows`` picks those out. The working folder (LR inputs,
    outputs, photographs) is removed at the end, whatever happens."""
    checked = check_options(opts)
    import torch

    from edgesr.benchmark import desktop
    from edgesr.devices.profiles import HERE
    from edgesr.errors import DeviceError
    from edgesr.runtimes.measure import cpu_count

    profile = checked.profile
    if profile.kind == "cuda" and not torch.cuda.is_available():
        raise DeviceError(f"--device cuda: this PyTorch ({torch.__version__}) sees no CUDA GPU; bench on a machine "
                          "with one and a CUDA build of torch, or leave --device out for this machine")
    if opts.threads and profile.kind not in HERE:  # the device's runtimes take --threads in place of the profile's
        profile = dataclasses.replace(profile, threads=opts.threads)
    remote = connect(profile, log)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with tempfile.TemporaryDirectory(prefix="edgesr-bench-") as tmp:
        run = Session(opts, Path(tmp), device, log, remote, threads=opts.threads or cpu_count())
        images, label = benchmark_images(opts.dataset, opts.data_root, run.tmp / "photos")
        _make_inputs(run, images)
        run.peaks = measure_peaks(run_worker, run.tmp, run.threads, device, remote, log)
        rows = [_baseline(run, s) for s in opts.scales]
        for precision, mode in torch_plan(opts, profile.kind):
            rows += [_bench_torch(run, Target(PYTORCH, precision, mode=mode), s) for s in opts.scales]
        for fmt, precision, quant in plan(opts, profile.kind):
            rows += _bench_format(run, Target(fmt, precision, quant))
    flops = frame_gflop(opts)
    for row in rows:
        add_efficiency(row, flops.get(row["scale"]), run.peaks)
    where = f"the desktop GPU ({torch.cuda.get_device_name()})" if device == "cuda" else "this CPU"
    report = _report(opts, profile, remote, f"PyTorch FP32 on {where}", label, rows)
    report.update({"threads": run.threads, "peak": run.peaks, "gflop_per_frame": {f"x{s}": g for s, g in flops.items()},
                   "weights_sha256": weights_digests(opts)})
    if device == "cuda":
        report["gpu"] = torch.cuda.get_device_name()
    desktop.add_columns(report, *checked.gpu)
    return report


def _make_inputs(run: Session, images: ImageSet) -> None:
    """The LR inputs, made once on the host with the evaluation's own degradation, and the HR images."""
    for s in run.opts.scales:
        run.lr_dirs[s], run.hrs[s] = run.tmp / f"lr_x{s}", {}
        for path in images.files:
            lr, hr = degrade(read_image(path), s)
            write_image(run.lr_dirs[s] / f"{path.stem}.png", lr)
            run.hrs[s][path.stem] = hr


def _run_torch(run: Session, target: Target, scale: int, out: Path) -> dict:
    opts = run.opts
    return run_worker({"kind": "torch", "model": opts.model, "weights": opts.weights, "scale": scale,
                       "device": run.device, "precision": target.precision, "mode": target.mode or "eager",
                       "lr_dir": str(run.lr_dirs[scale]), "out_dir": str(out), **run.timing}, run.tmp)


def _baseline(run: Session, scale: int) -> dict:
    run.log(f"baseline: PyTorch fp32 on {run.device}, x{scale}")
    out = run.tmp / f"torch_x{scale}"
    target = Target(PYTORCH, "fp32", mode="eager")
    res = _run_torch(run, target, scale, out)
    if not res.get("ok"):
        raise EdgesrError(f"the PyTorch baseline failed: {res.get('error')}")
    psnr, ssim = _score(out, run.hrs[scale], scale)
    run.baseline[scale] = {**res, "psnr": psnr, "ssim": ssim}
    return _row(target, scale, Status.PASSED, measured=run.baseline[scale], run=run)


def _bench_torch(run: Session, target: Target, scale: int) -> dict:
    """One of PyTorch's own precisions and modes at one scale, where the baseline runs, scored and
    held to its precision's loss bound like an artifact."""
    from edgesr.runtimes.torch_modes import CUDA_ONLY_MODES

    if target.mode in CUDA_ONLY_MODES and run.device != "cuda":
        return _row(target, scale, Status.NOT_HERE, reason=f"{target.mode} needs a CUDA GPU; PyTorch sees none here",
                    run=run)
    run.log(f"pytorch {target.precision} {target.mode} x{scale}: run on {run.device}")
    out = run.tmp / f"torch_{target.precision}_{target.mode}_x{scale}"
    return _scored(run, target, scale, out, _run_torch(run, target, scale, out), LOSS_BOUND_DB.get(target.precision))


def _report(opts: BenchOptions, profile, remote: Remote | None, baseline: str, label: str, rows: list[dict]) -> dict:
    from edgesr.conversion.api import tool_versions
    from edgesr.runtimes.measure import cpu_info

    report = {"model": opts.model, "weights": opts.weights or "shipped", "dataset": label, "baseline": baseline,
              "device": profile.label, "device_kind": profile.kind,
              "input_size": f"{opts.input_size[0]}x{opts.input_size[1]}", "host_cpu": cpu_info(),
              "tools": tool_versions(), "rows": rows}
    if remote:
        report["device_offers"] = remote.offers
    return report


def _bench_format(run: Session, target: Target) -> list[dict]:
    rows = _bench_rows(run, target)
    for row in rows:  # the method the artifact was made with (auto resolved), else the one asked for
        method = target.quant
        if row["artifact"]:
            method = read_manifest(Path(row["artifact"])).quant_method or target.quant
        row["quant"] = "" if method == "auto" and not row["artifact"] else method
    return rows


def _bench_rows(run: Session, target: Target) -> list[dict]:
    format_, scales = FORMATS[target.fmt], run.opts.scales
    if run.opts.formats is None and not format_.installed():
        return [_row(target, s, Status.NOT_INSTALLED, reason=format_.install_hint, run=run) for s in scales]
    # one artifact for every scale where the model shares a trunk (masrn); else one per scale
    shared = len(scales) > 1 and format_.shared and get_spec(run.opts.model).multi_scale
    rows = []
    for group in [tuple(scales)] if shared else [(s,) for s in scales]:
        quant = f" {target.quant}" if target.quant else ""
        run.log(f"{target.fmt} {target.precision}{quant} x{'/'.join(map(str, group))}: export")
        try:
            artifact = export_cached(run.opts, target.fmt, target.precision, group, target.quant)
        except Exception as exc:  # any converter failure becomes this row's status
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            rows += [_row(target, s, Status.EXPORT_FAILED, reason=reason, run=run) for s in group]
            continue
        exported = dataclasses.replace(target, artifact=artifact, size_mb=artifact_bytes(artifact) / 1e6)
        rows += [_bench_scale(run, exported, s) for s in group]
    return rows


def _why_not_here(run: Session, fmt: str) -> str | None:
    """Why the artifacts of ``fmt`` do not run where this bench runs them (None: they do)."""
    format_ = FORMATS[fmt]
    if run.remote is not None:
        return run.remote.why_not(fmt)
    if not format_.runs_here or (format_.needs_gpu and run.device != "cuda"):
        where = ", ".join({"darwin": "macOS"}.get(o, o) for o in format_.host_os)
        return f"{format_.runtime} runs on {'an NVIDIA GPU with TensorRT' if format_.needs_gpu else where}"
    return None


def _bench_scale(run: Session, target: Target, scale: int) -> dict:
    """One exported artifact at one scale: run, scored and held to its precision's loss bound."""
    why = _why_not_here(run, target.fmt)
    if why:
        return _row(target, scale, Status.NOT_RUN, reason=why, run=run)
    run.log(f"{target.fmt} {target.precision} x{scale}: run"
            + (f" on {run.remote.name}" if run.remote else ""))
    out = run.tmp / f"{target.fmt}_{target.precision}_{target.quant}_x{scale}"
    res = _run_artifact(run, target, scale, out)
    row = _scored(run, target, scale, out, res, FORMATS[target.fmt].loss_bound(target.precision))
    if run.remote is not None and res.get("ok"):
        row["runs_on"] = run.remote.name
        row["runtime"] = res.get("runtime")
    return row


def _scored(run: Session, target: Target, scale: int, out: Path, res: dict, bound: float | None) -> dict:
    """The row of a run (``res``, outputs in ``out``): scored on the host and held to ``bound``, the
    precision's loss against the baseline (None: 0.5 dB)."""
    if not res.get("ok"):
        return _row(target, scale, Status.FAILED_VALIDATION, reason=res.get("error", ""), run=run)
    psnr, ssim = _score(out, run.hrs[scale], scale)
    dpsnr = psnr - run.baseline[scale]["psnr"]
    tolerance = 0.5 if bound is None else bound
    status, reason = Status.PASSED, ""
    if dpsnr < -tolerance:
        status, reason = Status.FAILED_VALIDATION, f"dPSNR {dpsnr:+.3f} dB is beyond -{tolerance} dB for {target.precision}"
    return _row(target, scale, status, reason=reason, measured={**res, "psnr": psnr, "ssim": ssim}, run=run)


def _run_artifact(run: Session, target: Target, scale: int, out: Path) -> dict:
    """One artifact at one scale, on this machine (a fresh worker process) or on the device."""
    if run.remote is not None:
        return run.remote.run(target.artifact, scale, run.lr_dirs[scale], out, run.timing)
    return run_worker({"kind": "artifact", "artifact": str(target.artifact), "format": target.fmt, "scale": scale,
                       "device": "cuda" if FORMATS[target.fmt].needs_gpu else None,
                       "lr_dir": str(run.lr_dirs[scale]), "out_dir": str(out), **run.timing}, run.tmp)


def _row(target: Target, scale: int, status: str, *, run: Session, **columns) -> dict:
    return make_row(target, scale, status, device=run.device, base=run.baseline.get(scale), **columns)

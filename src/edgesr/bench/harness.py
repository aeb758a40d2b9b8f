"""``edgesr bench``: export what is needed (cached), run each artifact in a fresh process, score its
outputs on the host, and compare with the PyTorch FP32 baseline. One failing format never stops
the others: its row says what failed."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

import edgesr
from edgesr.bench.options import BenchOptions, check_formats, check_options, check_quant, find_benchmark
from edgesr.data.datasets import ImageSet
from edgesr.data.degrade import degrade
from edgesr.data.io import read_image, write_image
from edgesr.errors import EdgesrError
from edgesr.evaluation.evaluate import score_image
from edgesr.export.formats import FORMATS, LOSS_BOUND_DB
from edgesr.export.manifest import artifact_bytes, read_manifest, sha256
from edgesr.inference import SRImage

# the module whose presence means a format's converter is installed
CONVERTER = {"onnx": "onnxruntime", "tflite": "litert_torch", "coreml": "coremltools", "tensorrt": "tensorrt"}
PASSED, FAILED_VALIDATION, EXPORT_FAILED, NOT_RUN, NOT_INSTALLED = (
    "passed", "exported but failed validation", "export failed", "exported, not run here", "not installed")
# the statuses that fail a bench (its exit status): "not installed" and "not run here" are not failures
FAILURES = (FAILED_VALIDATION, EXPORT_FAILED)


def _installed(fmt: str) -> bool:
    return importlib.util.find_spec(CONVERTER[fmt]) is not None


def plan(opts: BenchOptions) -> list[tuple[str, str, str]]:
    """(format, precision, quantization method) to bench: every precision of the chosen (or installed)
    formats, INT8 (and Core ML's W8A8) once per method of ``opts.quant`` (W8A16 from the float
    weights: ptq; "" for float precisions)."""
    from edgesr.export.formats import CALIBRATED

    check_formats(opts)
    check_quant(opts)
    pairs = []
    for name, row in FORMATS.items():
        if opts.formats is not None and name not in opts.formats:
            continue
        pairs += [(name, p, q) for p in row.precisions if opts.precisions is None or p in opts.precisions
                  for q in (opts.quant if p in ("int8", row.int8_activations) else ("ptq",) if p in CALIBRATED
                            else ("",))]
    if not pairs:
        raise EdgesrError("no format takes the precisions asked for; see README, Targets")
    return pairs


def benchmark_images(dataset: str | None, data_root: str | None, folder: Path | None = None) -> tuple[ImageSet, str]:
    """The benchmark set and its label. With no set named and no data root holding Set5: the
    photographs scikit-image ships, written to ``folder`` (default: a new temporary folder) and
    labelled as such. A set that was named and is not found is refused (``find_benchmark``)."""
    images = find_benchmark(dataset, data_root)
    if images is not None:
        return images, images.name
    from skimage import data as photos

    folder = Path(tempfile.mkdtemp(prefix="edgesr-photos-")) if folder is None else Path(folder)
    for name in ("astronaut", "chelsea", "coffee", "rocket", "camera"):
        write_image(folder / f"{name}.png", getattr(photos, name)())
    return ImageSet("scikit-image photos", tuple(sorted(folder.glob("*.png")))), \
        "scikit-image photos (no benchmark set found; not Set5)"


def failed_rows(report: dict) -> list[dict]:
    """The rows that fail the bench: exported but failed validation, or export failed."""
    return [row for row in report["rows"] if row["status"] in FAILURES]


def row_name(row: dict) -> str:
    """``onnx int8 qat x4``: what a row measured, as the table names it."""
    words = (row["format"], row["precision"], row.get("quant") or "", f"x{row['scale']}")
    return " ".join(str(w) for w in words if w)


# the parts of edgesr whose code decides what an exported artifact holds
EXPORT_CODE = ("export", "models", "data", "train")  # train: the QAT simulation computes the INT8 ranges


def code_digest(root: Path, folders: tuple[str, ...]) -> str:
    """sha256 over the Python sources under ``root/folder`` (names and contents, in a fixed order)."""
    h = hashlib.sha256()
    for folder in folders:
        for path in sorted((root / folder).rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "-"


@functools.lru_cache(maxsize=None)
def _export_code() -> str:
    return code_digest(Path(edgesr.__file__).parent, EXPORT_CODE)[:16]


@functools.lru_cache(maxsize=None)
def toolchain(fmt: str) -> dict[str, str]:
    """What an artifact depends on besides the bench options: edgesr's export code and the installed
    versions of torch and of the format's converter packages (its pip extra). A change in any of
    them exports afresh instead of reusing an artifact the current code would not write."""
    packages = {"torch", CONVERTER[fmt].replace("_", "-")}
    try:
        requires = importlib.metadata.requires("edgesr") or []
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        requires = []
    for req in requires:
        name, _, marker = req.partition(";")
        if f'extra == "{FORMATS[fmt].extra}"' in marker.replace("'", '"'):
            packages.add(re.match(r"[A-Za-z0-9._-]+", name.strip()).group())
    return {"code": _export_code(), **{name: _dist_version(name) for name in sorted(packages)}}


def _cache_key(opts: BenchOptions, fmt: str, precision: str, scales: tuple[int, ...], quant: str = "") -> str:
    from edgesr.models.weights import shipped_weights

    weights = opts.weights or shipped_weights(opts.model, scales[0])
    if not opts.weights and quant:  # the weights the export will choose (QAT ones, where they apply)
        from edgesr.export.api import choose_weights

        weights = choose_weights(opts.model, scales[0], fmt, precision, None, quant)[0] or weights
    fixed = None if FORMATS[fmt].dynamic else list(opts.input_size)
    text = json.dumps({"model": opts.model, "weights": sha256(weights) if weights else None, "format": fmt,
                       "precision": precision, "scales": list(scales), "input": fixed,
                       "calib": opts.calib_images, "toolchain": toolchain(fmt), "quant": quant}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def export_cached(opts: BenchOptions, fmt: str, precision: str, scales: tuple[int, ...], quant: str = "") -> Path:
    """The artifact for these options, exported once and reused while weights and options match."""
    from edgesr.export.api import export_model

    folder = opts.cache / _cache_key(opts, fmt, precision, scales, quant)
    for candidate in folder.glob(f"*{FORMATS[fmt].suffix}") if folder.is_dir() else ():
        try:
            read_manifest(candidate)
            return candidate
        except EdgesrError:
            pass
    lr_size = None if FORMATS[fmt].dynamic else opts.input_size
    return export_model(opts.model, scales if len(scales) > 1 else scales[0], fmt, folder, precision=precision,
                        weights=opts.weights, lr_size=lr_size, calib_images=opts.calib_images,
                        data_root=opts.data_root, check=False, quant=quant or "auto")


def run_worker(request: dict, workdir: Path) -> dict:
    """One measurement in a fresh Python process (so its memory figures are its own)."""
    req_path = workdir / "request.json"
    req_path.write_text(json.dumps(request))
    proc = subprocess.run([sys.executable, "-m", "edgesr.bench.worker", str(req_path)],
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


def bench(opts: BenchOptions, log: Callable[[str], None] = lambda _: None) -> dict:
    """Every planned (format, precision) at every scale, plus the baseline; returns the report dict.
    A bad request is refused (``check_options``) before anything runs; a row that fails says why in
    its status and reason, and ``failed_rows`` picks those out."""
    checked = check_options(opts)
    import torch

    from edgesr.devices.ondevice import cpu_info
    from edgesr.export.api import tool_versions

    profile = checked.profile
    remote = None
    if profile.kind != "local":
        from edgesr.devices.remote import probe
        from edgesr.devices.transports import open_transport

        transport = open_transport(profile)
        remote = Remote(transport, probe(transport))
        log(f"device {profile.label}: " + ", ".join(f"{k} {v}" for k, v in remote.offers.items()))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    timing = {"input_size": list(opts.input_size), "warmup": opts.warmup, "min_runs": opts.min_runs,
              "min_seconds": opts.min_seconds}
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="edgesr-bench-") as tmp:
        tmp = Path(tmp)
        images, label = benchmark_images(opts.dataset, opts.data_root, tmp / "photos")
        hrs, lr_dirs = {}, {}
        for s in opts.scales:  # LR inputs made once, on the host, with the evaluation's own degradation
            lr_dirs[s], hrs[s] = tmp / f"lr_x{s}", {}
            for path in images.files:
                lr, hr = degrade(read_image(path), s)
                write_image(lr_dirs[s] / f"{path.stem}.png", lr)
                hrs[s][path.stem] = hr
        baseline = {}
        for s in opts.scales:
            log(f"baseline: PyTorch fp32 on {device}, x{s}")
            out = tmp / f"torch_x{s}"
            res = run_worker({"kind": "torch", "model": opts.model, "weights": opts.weights, "scale": s,
                              "device": device, "lr_dir": str(lr_dirs[s]), "out_dir": str(out), **timing}, tmp)
            if not res.get("ok"):
                raise EdgesrError(f"the PyTorch baseline failed: {res.get('error')}")
            psnr, ssim = _score(out, hrs[s], s)
            baseline[s] = {**res, "psnr": psnr, "ssim": ssim}
            rows.append(_row("pytorch", "fp32", s, PASSED, "", None, baseline[s], baseline[s], device))
        for fmt, precision, quant in plan(opts):
            rows += _bench_format(opts, fmt, precision, lr_dirs, hrs, baseline, timing, tmp, device, log, remote,
                                  quant)
    report = {"model": opts.model, "weights": opts.weights or "shipped", "dataset": label,
              "baseline": f"PyTorch FP32 on {'the desktop GPU (' + torch.cuda.get_device_name() + ')' if device == 'cuda' else 'this CPU'}",
              "device": profile.label, "device_kind": profile.kind, "input_size": f"{opts.input_size[0]}x{opts.input_size[1]}",
              "host_cpu": cpu_info(), "tools": tool_versions(), "rows": rows}
    if remote:
        report["device_offers"] = remote.offers
    return report


@dataclass
class Remote:
    """The device the artifacts run on, when it is not this machine, and what it offers."""

    transport: object
    offers: dict

    def why_not(self, fmt: str) -> str | None:
        from edgesr.devices.ondevice import INSTALL
        from edgesr.devices.remote import REMOTE_FORMATS

        if fmt not in REMOTE_FORMATS:
            return f"the on-device runner takes {' and '.join(REMOTE_FORMATS)} artifacts"
        if not self.offers.get(fmt):
            return f"device {self.transport.profile.name} has no {FORMATS[fmt].runtime} runtime: {INSTALL[fmt]} there"
        return None


def _run_artifact(remote, artifact, fmt, scale, lr_dir, out, timing, tmp) -> dict:
    """One artifact at one scale, on this machine (a fresh worker process) or on the device."""
    if remote is not None:
        from edgesr.devices.remote import run_remote

        return run_remote(remote.transport, artifact, scale, lr_dir, out, timing)
    return run_worker({"kind": "artifact", "artifact": str(artifact), "format": fmt, "scale": scale,
                       "device": "cuda" if FORMATS[fmt].needs_gpu else None, "lr_dir": str(lr_dir),
                       "out_dir": str(out), **timing}, tmp)


def _bench_format(opts, fmt, precision, lr_dirs, hrs, baseline, timing, tmp, device, log, remote=None,
                  quant: str = "") -> list[dict]:
    rows = _bench_rows(opts, fmt, precision, lr_dirs, hrs, baseline, timing, tmp, device, log, remote, quant)
    for row in rows:  # the method the artifact was made with (auto resolved), else the one asked for
        method = quant
        if row["artifact"]:
            method = read_manifest(Path(row["artifact"])).quant_method or quant
        row["quant"] = "" if method == "auto" and not row["artifact"] else method
    return rows


def _bench_rows(opts, fmt, precision, lr_dirs, hrs, baseline, timing, tmp, device, log, remote, quant) -> list[dict]:
    row_fmt = FORMATS[fmt]
    if opts.formats is None and not _installed(fmt):
        if fmt == "tensorrt":
            from edgesr.export.tensorrt import INSTALL as hint
        else:
            hint = f"pip install 'edgesr[{row_fmt.extra}]'"
        return [_row(fmt, precision, s, NOT_INSTALLED, hint, None, None, baseline[s], device) for s in opts.scales]
    shared = len(opts.scales) > 1 and row_fmt.shared is not None
    groups = [tuple(opts.scales)] if shared else [(s,) for s in opts.scales]
    rows = []
    for group in groups:
        log(f"{fmt} {precision}{' ' + quant if quant else ''} x{'/'.join(map(str, group))}: export")
        try:
            artifact = export_cached(opts, fmt, precision, group, quant)
        except Exception as exc:  # any converter failure becomes this row's status
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            rows += [_row(fmt, precision, s, EXPORT_FAILED, reason, None, None, baseline[s], device) for s in group]
            continue
        size = artifact_bytes(artifact) / 1e6
        for s in group:
            why = None
            if remote is not None:
                why = remote.why_not(fmt)
            elif not row_fmt.runs_here or (row_fmt.needs_gpu and device != "cuda"):
                where = ", ".join({"darwin": "macOS"}.get(o, o) for o in row_fmt.host_os)
                why = f"{row_fmt.runtime} runs on {'an NVIDIA GPU with TensorRT' if row_fmt.needs_gpu else where}"
            if why:
                rows.append(_row(fmt, precision, s, NOT_RUN, why, size, None, baseline[s], device, artifact))
                continue
            log(f"{fmt} {precision} x{s}: run" + (f" on {remote.transport.profile.name}" if remote else ""))
            out = tmp / f"{fmt}_{precision}_{quant}_x{s}"
            res = _run_artifact(remote, artifact, fmt, s, lr_dirs[s], out, timing, tmp)
            if not res.get("ok"):
                rows.append(_row(fmt, precision, s, FAILED_VALIDATION, res.get("error", ""), size, None,
                                 baseline[s], device, artifact))
                continue
            psnr, ssim = _score(out, hrs[s], s)
            measured = {**res, "psnr": psnr, "ssim": ssim}
            dpsnr = psnr - baseline[s]["psnr"]
            tolerance = LOSS_BOUND_DB.get(precision, 0.5)
            status, reason = PASSED, ""
            if dpsnr < -tolerance:
                status, reason = FAILED_VALIDATION, f"dPSNR {dpsnr:+.3f} dB is beyond -{tolerance} dB for {precision}"
            row = _row(fmt, precision, s, status, reason, size, measured, baseline[s], device, artifact)
            if remote is not None:
                row["runs_on"] = remote.transport.profile.name
                row["runtime"] = res.get("runtime")
            rows.append(row)
    return rows


def _row(fmt, precision, scale, status, reason, size_mb, measured, base, device, artifact=None) -> dict:
    row = {"format": fmt, "precision": precision, "quant": "", "scale": scale, "status": status, "reason": reason,
           "size_mb": size_mb, "artifact": str(artifact) if artifact else None, "psnr": None, "ssim": None,
           "dpsnr": None, "latency_ms": None, "p90_ms": None, "fps": None, "load_ms": None,
           "peak_rss_mb": None, "peak_gpu_mb": None, "latency_vs_pytorch": None,
           "runs_on": device if fmt == "pytorch" else None, "runtime": None}
    if measured:
        row.update({k: measured.get(k) for k in ("psnr", "ssim", "latency_ms", "p90_ms", "load_ms", "peak_rss_mb",
                                                 "peak_gpu_mb")})
        row["fps"] = 1000.0 / measured["latency_ms"]
        row["dpsnr"] = measured["psnr"] - base["psnr"]
        row["latency_vs_pytorch"] = measured["latency_ms"] / base["latency_ms"]
        if fmt != "pytorch":
            row["runs_on"] = "cuda" if FORMATS[fmt].needs_gpu else "cpu"
    return row

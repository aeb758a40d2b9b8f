"""One artifact measured on a remote device, scored on the host from the device's own outputs.

The host runs the image pipeline and the artifact's own runner (pre-processing, tiling, quantization
of the input) with a tape standing in for the runtime at the runner's ``_call`` boundary: a first
pass records every tensor the artifact is fed; the device runs those calls through the same runner
class (:mod:`edgesr.devices.ondevice`, shipped in :mod:`edgesr.devices.bundle`) and sends back the
raw outputs; a second pass plays them back on the host, so post-processing is the host's and every
SR pixel is the device's. The timed frame is the calls of one random LR image of the benchmark input
size (all its tiles), as the local worker times it.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import uuid
from pathlib import Path, PurePosixPath

import numpy as np

from edgesr.data.io import read_image, write_image
from edgesr.devices.bundle import BUNDLE_NAME, write_bundle
from edgesr.devices.transports import Transport, last_line
from edgesr.errors import DeviceError
from edgesr.formats import get_format, remote_formats
from edgesr.inference import upscale
from edgesr.manifest import Manifest, manifest_path, read_manifest

# formats the on-device runner takes: those with an on-device install line
REMOTE_FORMATS = tuple(b.name for b in remote_formats())

Call = tuple[str, dict[str, np.ndarray], str]


class _Tape:
    """Records the calls a runner makes into its runtime, then plays the device's outputs back."""

    def __init__(self, manifest: Manifest, scale: int):
        self.head = manifest.head(scale)
        self.factor = 1 if manifest.upsampling == "pre" else scale
        self.calls: list[Call] = []
        self._outputs: list[np.ndarray] = []

    def record(self, entry: str, feeds: dict[str, np.ndarray], output: str) -> np.ndarray:
        self.calls.append((entry, {k: np.array(v, copy=True) for k, v in feeds.items()}, output))
        image = feeds[self.head.input.name]
        h, w = image.shape[1:3] if self.head.input.layout == "NHWC" else image.shape[2:4]
        out = self.head.output
        h, w = h * self.factor, w * self.factor
        shape = (1, h, w, out.channels) if out.layout == "NHWC" else (1, out.channels, h, w)
        return np.zeros(shape, dtype=np.dtype(out.dtype))

    def play(self, outputs: list[np.ndarray]) -> None:
        self._outputs = list(reversed(outputs))

    def replay(self, entry: str, feeds: dict[str, np.ndarray], output: str) -> np.ndarray:
        if not self._outputs:
            raise DeviceError("the device sent back fewer outputs than the runner asked for")
        return self._outputs.pop()


def _taped_runner(artifact: Path, manifest: Manifest, scale: int):
    """The artifact's own runner, ready to run without its runtime (the tape stands in for it)."""
    runner = get_format(manifest.format).open(artifact, manifest, scale)
    tape = _Tape(manifest, scale)
    runner._call = tape.record
    runner.active = True
    return runner, tape


def _save_calls(calls: list[Call], folder: Path, prefix: str) -> list[dict]:
    saved = []
    for i, (entry, feeds, output) in enumerate(calls):
        inputs = {}
        for j, (name, value) in enumerate(feeds.items()):
            rel = f"inputs/{prefix}{i:05d}_{j}.npy"
            np.save(folder / rel, value)
            inputs[name] = rel
        saved.append({"entry": entry, "inputs": inputs, "output": output})
    return saved


def _stage(stage: Path, artifact: Path, manifest: Manifest, frame: list[Call], calls: list[Call], job: dict) -> None:
    """The folder the device gets: the on-device runner's bundle, the artifact and its manifest, the
    network inputs of the timed ``frame`` and of every call, and ``job.json`` (``job`` plus where they are)."""
    (stage / "inputs").mkdir(parents=True)
    write_bundle(stage)
    shutil.copy(artifact, stage / artifact.name)
    shutil.copy(manifest_path(artifact), stage / manifest_path(artifact).name)
    job = {"artifact": artifact.name, "manifest": manifest_path(artifact).name, "format": manifest.format, **job,
           "frame": _save_calls(frame, stage, "frame_"), "calls": _save_calls(calls, stage, ""), "outputs": "outputs",
           "result": "result.json"}
    (stage / "job.json").write_text(json.dumps(job))


def probe(transport: Transport, what: str = "--probe") -> dict:
    """What the device has (Python, numpy, each runtime), from the on-device runner itself; with
    ``what="--peak"``, its peak GFLOP/s (a float32 matrix product timed there with numpy)."""
    remote = str(PurePosixPath(transport.profile.workdir) / f"edgesr-probe-{uuid.uuid4().hex[:12]}")
    with tempfile.TemporaryDirectory(prefix="edgesr-probe-") as tmp:
        write_bundle(tmp)
        transport.push(Path(tmp), remote)
    try:
        proc = transport.run([transport.profile.python, BUNDLE_NAME, what], cwd=remote, timeout=300)
    finally:
        transport.remove(remote)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        raise DeviceError(f"device {transport.profile.name}: {transport.profile.python} cannot run the on-device "
                          f"runner ({last_line(proc.stderr or proc.stdout)}); it needs Python 3 and numpy there "
                          f"(fix `python` in {transport.profile.path})")
    return json.loads(lines[-1])


def run_remote(transport: Transport, artifact: Path, scale: int, lr_dir: Path, out_dir: Path, timing: dict,
               runtime: str = "auto") -> dict:
    """Measure ``artifact`` at ``scale`` on the device; save each SR output's Y (``.npy``) and image
    (``.png``) in ``out_dir`` as the local worker does. Returns the worker's result dict."""
    artifact = Path(artifact)
    manifest = read_manifest(artifact)
    if manifest.format not in REMOTE_FORMATS:
        raise DeviceError(f"the on-device runner takes {', '.join(REMOTE_FORMATS)} artifacts, not {manifest.format}")
    runner, tape = _taped_runner(artifact, manifest, scale)
    lr_paths = sorted(Path(lr_dir).glob("*.png"))
    lrs = [read_image(p) for p in lr_paths]
    h, w = timing["input_size"]
    upscale(runner, np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8))
    frame, tape.calls = tape.calls, []
    for lr in lrs:
        upscale(runner, lr)
    profile = transport.profile
    remote = str(PurePosixPath(profile.workdir) / f"edgesr-{uuid.uuid4().hex[:12]}")
    with tempfile.TemporaryDirectory(prefix="edgesr-device-") as tmp:
        stage, back = Path(tmp) / "stage", Path(tmp) / "back"
        job = {"scale": scale, "runtime": runtime, "threads": profile.threads,
               **{k: timing[k] for k in ("warmup", "min_runs", "min_seconds") if k in timing}}
        _stage(stage, artifact, manifest, frame, tape.calls, job)
        transport.push(stage, remote)
        try:
            proc = transport.run([profile.python, BUNDLE_NAME, "job.json"], cwd=remote)
            transport.pull(remote, ["result.json"] + (["outputs"] if proc.returncode == 0 else []), back)
        except DeviceError as exc:
            return {"ok": False, "error": str(exc)}
        finally:
            transport.remove(remote)
        try:
            result = json.loads((back / "result.json").read_text())
        except (OSError, ValueError):
            return {"ok": False, "error": f"the on-device runner exited with {proc.returncode}: "
                                          f"{last_line(proc.stderr or proc.stdout)}"}
        if not result.get("ok"):
            return result
        outputs = [np.load(back / "outputs" / f"{i:05d}.npy") for i in range(len(tape.calls))]
    tape.play(outputs)
    runner._call = tape.replay
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for path, lr in zip(lr_paths, lrs):
        sr = upscale(runner, lr)
        np.save(out_dir / f"{path.stem}.npy", sr.y)
        write_image(out_dir / f"{path.stem}.png", sr.image)
    return {**result, "calls_per_frame": len(frame), "device": profile.label}

"""The browser as a bench device: ``edgesr bench --device browser`` runs ONNX artifacts in headless
Chromium, in the web app (``apps/web``) through onnxruntime-web, as :mod:`edgesr.devices.remote`
runs them on an ssh or adb board.

What a row measures. The page's own pipeline: each artifact is served to a fresh Chromium and
loaded by the page, and every LR image goes through the page's ``upscale`` (JavaScript colour
conversion, MATLAB bicubic for Y models' chroma and pre-upsampling models, packing, the network,
rounding), whole (one tile, as the local worker takes whole frames). That is what an app in a
browser runs, and a browser cannot run the host's Python pipeline the way a board runs the host's
tape of network calls: the JavaScript is part of the cost and of the pixels a user gets, so both
belong in the row. It also times the span the local rows time (``upscale(runner, lr)``: the whole
pipeline around the network), so the browser row compares with the local ONNX Runtime row of the
same artifact; the ssh/adb rows time the network calls alone, and the report's note says which.

* ``load_ms``: the page's second load of the artifact, timed in the page: fetching it over
  127.0.0.1, reading its contract and creating the onnxruntime-web session. The first load, untimed,
  instantiates onnxruntime-web's WASM and its threads (2.5-4 s here, against tens of ms for the
  session): the counterpart of the runtime's import, which the local worker leaves out of its load.
* ``latency_ms``/``p90_ms``: the in-page time (``performance.now``) of the page's pipeline on one
  random LR frame of ``--input-size``, made on the host as the local worker makes it and sent once;
  warm-up, then runs until both ``min_runs`` and ``min_seconds`` are reached, the loop itself in
  the page, so no WebDriver transfer is timed.
* PSNR/SSIM: each benchmark LR image upscaled by the page; its Y (a Y model's own rounded Y) and
  image are saved as the worker saves them, and the harness scores them on the host with
  ``score_image`` as it scores every row. A grayscale LR image (Set14's bridge) is the exception:
  the page, like any page, gets RGBA from the browser and has no grayscale path, while the
  evaluation protocol feeds a Y model the grey values themselves and scores grey against grey; so
  those images take the host's pipeline with every network run in the page (``runTensor``), as the
  ssh/adb devices do, and score as the local rows do.
* ``peak_rss_mb``: the high-water RSS (``VmHWM``) of the renderer process that ran the page (the
  Chromium renderer whose CPU time grew most while timing: WASM memory and the page's threads live
  there), read after timing, as the worker reads its own; Chromium's browser, GPU and network
  processes are left out. Where ``/proc`` cannot tell (not Linux), it is left empty.
* ``runtime``: ``onnxruntime-web 1.30.0 wasm (2 threads), Chromium 156.0...``.

Threads: the profile's ``threads``, 0 meaning every core of this machine (onnxruntime-web's own
default would take half of them). The PyTorch baseline stays on this machine, as with every device.

Missing tools: ``check_tools`` refuses the bench up front, in one line naming each install (the
CLI and :func:`edgesr.benchmark.options.check_options` call it before the baseline and the exports):
``--device browser`` names where every artifact runs, so without Chromium, chromedriver, selenium or
onnxruntime-web no row could run and minutes of baseline and exports would buy a table of "not
run" rows; an unreachable ssh device stops the bench the same way.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import shutil
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from edgesr.devices.profiles import DeviceProfile
from edgesr.errors import DeviceError, EdgesrError, MissingDependencyError

BROWSER_FORMATS = ("onnx",)
ONLY_ONNX = "the browser runs ONNX artifacts (through onnxruntime-web)"
MIN_SIDE = 16  # the page pads narrower images up to it (apps/web/pipeline.js)

# The timing loop, in the page: args = [rgba (base64), width, height, scale, tile, warmup, min_runs, min_ms].
_TIME_LOOP = """call(async () => {
  const e = await page(), [data, w, h, scale, tile, warmup, minRuns, minMs] = args;
  const rgba = fromB64(data), times = [];
  for (let i = 0; i < warmup; i++) await e.upscale(rgba, w, h, scale, {tile});
  const begin = performance.now();
  while (times.length < minRuns || performance.now() - begin < minMs) {
    times.push((await e.upscale(rgba, w, h, scale, {tile})).ms);
  }
  return times;
});"""
_BACKENDS = "call(async () => (await import(new URL('session.js', document.baseURI).href)).availableBackends());"


def missing_tools(profile: DeviceProfile) -> list[str]:
    """What the browser device lacks here, each with its install (empty: nothing)."""
    from edgesr.web import server

    missing = [m for m in (_missing_programs(profile),) if m]
    if importlib.util.find_spec("selenium") is None:
        missing.append("selenium (pip install 'edgesr[web]')")
    try:
        server.find_app()
    except EdgesrError:
        app = (server.REPO_APP / "index.html").is_file()
        missing.append(f"onnxruntime-web ({server.NPM_INSTALL})" if app else
                       f"the web app ({server.REPO_APP} in a clone of the repository)")
    return missing


def _missing_programs(profile: DeviceProfile) -> str | None:
    """Chromium and chromedriver, as the profile, ``$EDGESR_CHROMIUM``/``$EDGESR_CHROMEDRIVER`` or
    the PATH name them: those not found, with the install; None when both are there."""
    from edgesr.web.browser import CHROMIUM_INSTALL, find_tools

    try:
        found = find_tools(profile.chromium, profile.chromedriver)
    except MissingDependencyError as exc:  # "Chromium and chromedriver not found (...)"
        return f"{str(exc).split(' not found', 1)[0]} ({CHROMIUM_INSTALL})"
    absent = [path for path in found if shutil.which(path) is None]
    return f"{' and '.join(absent)} ({CHROMIUM_INSTALL})" if absent else None


def check_tools(profile: DeviceProfile) -> None:
    """Refuse the browser device in one line when something it needs is missing here."""
    missing = missing_tools(profile)
    if missing:
        needs = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " and " + missing[-1]
        raise MissingDependencyError(f"device {profile.name} cannot run here: it needs {needs}; install "
                                     f"{'it' if len(missing) == 1 else 'them'}, or bench on --device local")


def threads(profile: DeviceProfile) -> int:
    """onnxruntime-web's WASM threads: the profile's, or every core this process may use."""
    if profile.threads:
        return profile.threads
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def ort_web_version() -> str:
    """onnxruntime-web's version, from the package the app serves."""
    from edgesr.web.server import find_app

    package = find_app()[1].parent / "package.json"
    try:
        return json.loads(package.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "?"


@dataclass
class BrowserDevice:
    """Headless Chromium on this machine as a bench device, and what it offers (see :func:`connect`)."""

    profile: DeviceProfile
    offers: dict

    @property
    def name(self) -> str:
        return self.profile.name

    def why_not(self, fmt: str) -> str | None:
        return None if fmt in BROWSER_FORMATS else ONLY_ONNX

    def run(self, artifact: Path, scale: int, lr_dir: Path, out_dir: Path, timing: dict) -> dict:
        """One artifact at one scale in a fresh Chromium: the worker's result dict, or {ok: False, error}."""
        try:
            return run_in_browser(self.profile, artifact, scale, lr_dir, out_dir, timing)
        except Exception as exc:  # the row's status; the bench goes on with the others
            text = str(exc).splitlines()[0] if str(exc) else ""
            return {"ok": False, "error": text if isinstance(exc, EdgesrError) else f"{type(exc).__name__}: {text}"}


def _open(profile: DeviceProfile, artifact: Path | None):
    from edgesr.web.browser import Browser

    return Browser(artifact, backend=profile.backend, threads=threads(profile), timeout=profile.timeout,
                   chromium=profile.chromium, chromedriver=profile.chromedriver)


def connect(profile: DeviceProfile, log: Callable[[str], None] = lambda _: None) -> BrowserDevice:
    """Check the tools, start Chromium once on the app, and refuse a backend the browser lacks."""
    check_tools(profile)
    with _open(profile, None) as browser:
        backends = browser.call(_BACKENDS)
        version = browser.version
    offers = {"browser": version, "onnxruntime-web": ort_web_version(), "backends": backends,
              "backend": profile.backend, "threads": threads(profile)}
    if profile.backend not in backends:
        raise DeviceError(f"device {profile.name}: {version} offers no {profile.backend} backend here (only "
                          f"{', '.join(backends)}); use backend = \"wasm\" in {profile.path or 'a browser profile'}")
    log(f"device {profile.label}: " + ", ".join(f"{k} {v}" for k, v in offers.items()))
    return BrowserDevice(profile, offers)


def run_in_browser(profile: DeviceProfile, artifact: Path, scale: int, lr_dir: Path, out_dir: Path,
                   timing: dict) -> dict:
    """Load ``artifact`` in a fresh page, time its pipeline on one random LR frame, then upscale every
    LR image of ``lr_dir`` and save its Y (``.npy``) and image (``.png``) in ``out_dir``."""
    from edgesr.data.io import read_image, write_image
    from edgesr.inference import upscale

    h, w = timing["input_size"]
    frame = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)  # as the local worker's
    with _open(profile, Path(artifact)) as browser:
        browser.load()  # instantiates onnxruntime-web (WASM, threads): the runtime's "import"
        loaded = browser.load()
        renderers = _renderer_cpu(browser)
        timed = _time_in_page(browser, frame, scale, timing)
        peak = _peak_mb(browser, renderers)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        gray = None
        for path in sorted(Path(lr_dir).glob("*.png")):
            lr = read_image(path)
            if lr.ndim == 2:  # no grayscale path in a page: the host's pipeline, the network in the page
                if gray is None:
                    gray = _network_in_page(browser, Path(artifact), scale)
                sr = upscale(gray, lr)
            else:
                sr = browser.upscale(lr, scale, _whole(lr.shape[:2], scale)).sr
            np.save(out_dir / f"{path.stem}.npy", sr.y)
            write_image(out_dir / f"{path.stem}.png", sr.image)
        runtime = f"onnxruntime-web {ort_web_version()} {loaded['backend']} ({loaded['threads']} threads), " \
                  f"{browser.version}"
    return {"ok": True, "load_ms": float(loaded["ms"]), **timed, "peak_rss_mb": peak, "runtime": runtime,
            "threads": loaded["threads"], "device": profile.label}


def _whole(size: tuple[int, int], scale: int) -> int:
    """The page's tile side that takes an LR image of ``size`` in one piece (pre-upsampling ones too)."""
    return max(*size, MIN_SIDE) * scale


def _network_in_page(browser, artifact: Path, scale: int):
    """The artifact's own runner on the host (pre- and post-processing, whole images) whose every
    network run is the page's ``runTensor``."""
    from edgesr.formats import get_format
    from edgesr.manifest import read_manifest

    manifest = read_manifest(artifact)
    runner = get_format(manifest.format).open(artifact, manifest, scale)
    runner.auto_tiling, runner.active = False, True
    feed, dtype = runner.head.input.name, np.dtype(runner.head.output.dtype)

    def call(entry: str, feeds: dict[str, np.ndarray], output: str) -> np.ndarray:
        return browser.run_tensor(feeds[feed].astype(np.float32), scale)[0].astype(dtype)

    runner._call = call
    return runner


def _time_in_page(browser, frame: np.ndarray, scale: int, timing: dict) -> dict:
    h, w = frame.shape[:2]
    rgba = np.concatenate([frame, np.full((h, w, 1), 255, np.uint8)], axis=2)
    times = browser.call(_TIME_LOOP, base64.b64encode(rgba.tobytes()).decode(), w, h, int(scale),
                         _whole((h, w), scale), int(timing.get("warmup", 2)), int(timing.get("min_runs", 5)),
                         float(timing.get("min_seconds", 2.0)) * 1000)
    ordered = sorted(float(t) for t in times)
    return {"runs": len(ordered), "latency_ms": statistics.median(ordered),
            "p90_ms": ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]}


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, CPU ticks) of every process /proc shows."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        found[int(stat.parent.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return found


def _renderer_cpu(browser) -> dict[int, int]:
    """CPU ticks of each Chromium renderer under this browser's chromedriver (empty without /proc)."""
    procs, root = _processes(), browser.driver.service.process.pid
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in procs.items():
        children.setdefault(parent, []).append(pid)
    below, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            below.add(child)
            todo.append(child)
    renderers = {}
    for pid in below:
        try:
            if b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                renderers[pid] = procs[pid][1]
        except OSError:
            continue
    return renderers


def _peak_mb(browser, before: dict[int, int]) -> float | None:
    """VmHWM of the renderer that worked hardest since ``before`` (the page's), in MB; None if unknown."""
    after = _renderer_cpu(browser)
    grown = {pid: ticks - before.get(pid, 0) for pid, ticks in after.items()}
    if not grown or max(grown.values()) <= 0:
        return None
    pid = max(grown, key=grown.get)
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None

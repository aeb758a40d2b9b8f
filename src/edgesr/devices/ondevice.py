"""edgesr's on-device runner: what runs on a board that has Python 3, numpy and a runtime, not edgesr.

The host (:mod:`edgesr.devices.remote`) copies the bundle of edgesr's torch-free modules
(:mod:`edgesr.devices.bundle`: a zip application holding this module, the format table, the
manifest and the runners of the formats a board can run) to the board, beside the artifact, its
manifest, the network inputs (``.npy``, already in the artifact's own layout and dtype) and
``job.json``, and runs ``python edgesr-ondevice.pyz job.json`` in that folder. This checks the
artifact against the manifest's SHA-256, opens it with edgesr's own runner for its format (the load
timed apart from inference), times the runner's runtime calls for one LR frame (warm-up, then runs
until both a minimum count and a minimum time are reached), reads its own peak RSS, makes every
recorded call and saves each raw output (``.npy``), and writes ``result.json``. Everything else
(pre- and post-processing, tiling, scoring) happens on the host, from these outputs, through the
same runner.

``python edgesr-ondevice.pyz --probe`` prints what the board offers: Python, numpy, the CPU and the
runtime each on-device format would run with; ``--peak`` times a 2048 x 2048 float32 matrix product
with numpy (the device's peak GFLOP/s, against which ``edgesr bench`` reads each row). What this module imports must be in the bundle: the
standard library, numpy, the runtimes and edgesr's torch-free modules.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time

import numpy as np

from edgesr.formats import get_format, remote_formats
from edgesr.manifest import read_manifest, sha256
from edgesr.runtimes.measure import cpu_info, numpy_peak, peak_rss_mb, time_runs

__all__ = ["cpu_info", "main", "numpy_peak", "open_job", "peak_rss_mb", "probe", "run", "time_runs"]


def probe() -> dict:
    """What this device offers: Python, machine, CPU, numpy and, per on-device format, the runtime
    its runner would use (None where absent)."""
    found = {"python": platform.python_version(), "machine": platform.machine(), "numpy": np.__version__,
             "cpus": os.cpu_count(), "cpu": cpu_info()}
    for format_ in remote_formats():
        found[format_.name] = format_.runner_class().available()
    return found


def open_job(job: dict, threads: int):
    """The runner for the job's artifact (inactive), after checking the artifact's SHA-256."""
    manifest = read_manifest(job["artifact"], verify=False)
    if sha256(job["artifact"]) != manifest.artifact_sha256:
        raise RuntimeError(f"{job['artifact']} does not match the SHA-256 in its manifest (a partial copy?); "
                           "run the bench again")
    options = {"threads": threads}
    if job.get("runtime", "auto") != "auto":
        options["interpreter"] = job["runtime"]
    return get_format(manifest.format).open(job["artifact"], manifest, job.get("scale", manifest.scales[0]),
                                             **options)


def _load(call: dict) -> dict:
    return {name: np.load(path) for name, path in call["inputs"].items()}


def run(job: dict) -> dict:
    threads = job.get("threads") or os.cpu_count() or 1
    runner = open_job(job, threads)
    frame = [(c["entry"], _load(c), c["output"]) for c in job["frame"]]
    start = time.perf_counter()
    with runner:
        load_ms = (time.perf_counter() - start) * 1000

        def step():
            for call in frame:
                runner._call(*call)

        timed = time_runs(step, job.get("warmup", 2), job.get("min_runs", 5), job.get("min_seconds", 2.0))
        result = {"ok": True, "load_ms": load_ms, **timed, "peak_rss_mb": peak_rss_mb(),
                  "runtime": runner.runtime_version, "threads": threads,
                  "python": platform.python_version(), "machine": platform.machine()}
        os.makedirs(job["outputs"], exist_ok=True)
        for i, call in enumerate(job["calls"]):
            out = runner._call(call["entry"], _load(call), call["output"])
            np.save(os.path.join(job["outputs"], f"{i:05d}.npy"), np.asarray(out))
    return result


def main(argv: list[str]) -> int:
    if argv[:1] == ["--probe"]:
        print(json.dumps(probe()))
        return 0
    if argv[:1] == ["--peak"]:
        print(json.dumps({**numpy_peak(), "threads": os.cpu_count()}))
        return 0
    if len(argv) != 1:
        print("usage: python edgesr-ondevice.pyz JOB.json | --probe | --peak", file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        job = json.load(f)
    try:
        result = run(job)
    except Exception as exc:  # the host reads the reason from result.json
        text = str(exc).splitlines()[0] if str(exc) else ""
        result = {"ok": False, "error": f"{type(exc).__name__}: {text}"}
    path = job.get("result", "result.json")
    with open(path + ".part", "w") as f:
        json.dump(result, f)
    os.replace(path + ".part", path)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

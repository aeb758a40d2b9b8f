"""Measuring a run where it happens (this machine, or a board through :mod:`edgesr.devices.ondevice`):
a timing loop, the process's peak memory, what the CPU is and what it can compute (a matrix-product
probe). Standard library only (numpy imported by the probe that uses it)."""

from __future__ import annotations

import os
import platform
import re
import statistics
import sys
import time
from typing import Callable

# CPU flags that change which integer kernels a runtime picks (and so what an INT8 model computes):
# x86 without VNNI adds u8 x s8 products in pairs with 16-bit saturation; Arm's dot-product
# instructions and x86's VNNI/AMX accumulate in 32 bits
INTEGER_KERNEL_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "neon", "asimd", "asimddp", "i8mm",
                        "sve")


def peak_rss_mb() -> float | None:
    """This process's high-water RSS in MB (Linux and Android: VmHWM), or None where unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import resource

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024
    except (ImportError, OSError):
        return None


def cpu_count() -> int:
    """The cores this process may run on (every core, unless an affinity mask says otherwise): the
    thread count edgesr's runtimes get by default."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def check_threads(threads: int) -> int:
    """``threads`` (0: every core) if this machine can give them: more threads than cores only slow a
    runtime down, and with hundreds a run may never finish, so they are refused in one line."""
    from edgesr.errors import ConfigError

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise ConfigError(f"threads must be 0 (every core) or a positive whole number, got {threads!r}")
    cores = cpu_count()
    if threads > cores:
        raise ConfigError(f"--threads {threads} is more than the {cores} cores this process may run on: "
                          f"give at most {cores}, or 0 for every core")
    return threads


def cpu_info() -> dict:
    """The CPU's model and the flags in ``INTEGER_KERNEL_FLAGS`` it has, from /proc/cpuinfo
    (Linux and Android); elsewhere the platform's processor string."""
    models, flags = [], set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key in ("model name", "hardware", "cpu model") and value.strip():
                    models.append(value.strip())
                elif key in ("flags", "features"):
                    flags.update(value.split())
    except OSError:
        pass
    model = models[0] if models else platform.processor() or platform.machine()
    return {"model": model, "machine": platform.machine(),
            "int_flags": [f for f in INTEGER_KERNEL_FLAGS if f in flags]}


def cpu_slug(info: dict) -> str:
    """A file name for the kind of CPU ``cpu_info()`` describes: its model and integer-kernel features."""
    name = re.sub(r"[^a-z0-9]+", "-", f"{info['model']} {'-'.join(info['int_flags'])}".lower()).strip("-")
    return name or "cpu"


def time_runs(step: Callable[[], object], warmup: int = 2, min_runs: int = 5, min_seconds: float = 2.0) -> dict:
    """Call ``step`` ``warmup`` times, then time it until both ``min_runs`` runs and ``min_seconds``
    have passed; median and p90 in ms."""
    for _ in range(warmup):
        step()
    times = []
    begin = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - begin < min_seconds:
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1000)
    ordered = sorted(times)
    return {"runs": len(times), "latency_ms": statistics.median(times),
            "p90_ms": ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]}


# the side of the square float32 matrix product that measures a device's peak (2 * n**3 flop a run)
PEAK_N = 2048


def matmul_peak(product: Callable[[], object], n: int, library: str, threads: int | None = None,
                min_seconds: float = 1.0) -> dict:
    """The GFLOP/s of ``product`` (one n x n by n x n float32 matrix product), the median of at least
    3 timed runs after one warm-up: what the device computes at best, against which a network's
    achieved GFLOP/s is read."""
    timed = time_runs(product, warmup=1, min_runs=3, min_seconds=min_seconds)
    return {"gflops": 2 * n ** 3 / (timed["latency_ms"] / 1000) / 1e9, "n": n, "ms": timed["latency_ms"],
            "threads": threads, "library": library}


def numpy_peak(n: int = PEAK_N) -> dict:
    """:func:`matmul_peak` with numpy's BLAS and its own threads (every core by default): the probe
    of a board, where numpy is what there is."""
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((n, n), dtype=np.float32) for _ in range(2))
    return matmul_peak(lambda: a @ b, n, f"numpy {np.__version__} float32 matmul")

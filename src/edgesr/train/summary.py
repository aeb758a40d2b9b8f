"""A finished run's summary (``summary.json`` in its folder): what stays in a repository once the run's
weights, checkpoints and log leave it. Read from the run's ``log.jsonl``; small enough to track.

``python -m edgesr.train.summary RUN_DIR [...]`` writes it for runs made before the trainer did.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from edgesr.errors import DataError

SUMMARY = "summary.json"


def summarize(run: str | os.PathLike) -> dict[str, Any]:
    """Iterations, training time, throughput, every validation and the best one, and each session's
    start (iteration, hardware, CPU model, precision), from ``run/log.jsonl``."""
    log = Path(run) / "log.jsonl"
    try:
        lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        raise DataError(f"cannot read {log}: {exc.strerror or exc}; is {run} a training run's folder?") from None
    except ValueError as exc:
        raise DataError(f"{log} is not a JSON-lines training log ({exc})") from None
    starts = [e for e in lines if e.get("event") == "start"]
    steps = [e for e in lines if "loss" in e and "event" not in e]
    rates = [e["patches_per_s"] for e in steps if "patches_per_s" in e]
    validations = [{"iteration": e["iteration"], "psnr": {k: round(v, 4) for k, v in e["val_psnr"].items()}}
                   for e in lines if "val_psnr" in e]
    best = max(validations, key=lambda v: statistics.fmean(v["psnr"].values()), default=None)
    val_set = next((e["val_set"] for e in lines if "val_set" in e), None)
    seconds = max((e.get("elapsed", 0.0) for e in steps), default=0.0)  # training time, checkpoints aside
    return {
        "iterations": max((e["iteration"] for e in lines if "iteration" in e), default=0),
        "planned_iterations": starts[-1].get("iterations") if starts else None,
        "seconds": seconds,
        "hours": round(seconds / 3600, 2),
        "patches_per_s": round(statistics.median(rates), 2) if rates else None,
        "sessions": [{k: e[k] for k in ("iteration", "hardware", "cpu", "device", "world_size", "precision") if k in e} for e in starts],
        "warm_start": next((e["warm_start"]["from"] for e in starts if "warm_start" in e), None),
        "val_set": val_set,
        "validations": validations,
        "best": best,
        "diverged": any(e.get("event") == "diverged" for e in lines),
    }


def write_summary(run: str | os.PathLike) -> Path:
    from edgesr._files import write_text

    path = Path(run) / SUMMARY
    return write_text(path, _compact(summarize(run)))


def _compact(data: dict[str, Any]) -> str:
    """JSON with one line per key, and one per item of a list (validations, sessions)."""
    def value(v: Any) -> str:
        if isinstance(v, list) and v:
            return "[\n" + ",\n".join(f"    {json.dumps(item)}" for item in v) + "\n  ]"
        return json.dumps(v)
    return "{\n" + ",\n".join(f"  {json.dumps(k)}: {value(v)}" for k, v in data.items()) + "\n}\n"


def main(argv: list[str] | None = None) -> int:
    runs = sys.argv[1:] if argv is None else argv
    if not runs:
        print("usage: python -m edgesr.train.summary RUN_DIR [RUN_DIR ...]", file=sys.stderr)
        return 2
    for run in runs:
        try:
            print(write_summary(run))
        except DataError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

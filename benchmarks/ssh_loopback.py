"""`edgesr bench --device` over a real ssh connection, on this machine: the device path end to end.

Starts OpenSSH on 127.0.0.1 with throwaway keys (edgesr.devices.loopback), writes a device profile
whose Python is ``--python`` (by default this interpreter; pass an older board's, such as a venv
with only numpy<2 and tflite-runtime), and runs ``edgesr bench --device`` on it with the CLI's own
code. The CPU is this machine's, so the numbers say what the device path costs and that its
outputs score as the local ones do, not how fast a phone is.

Writes benchmarks/results/bench_ssh_loopback/ (bench.md, bench.json, bench.csv, bench.png).

    python benchmarks/ssh_loopback.py [--python /path/to/board/python] [--data-root ../shared/datasets]
        [--weights W.safetensors] [--formats tflite,onnx] [--cache DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "bench_ssh_loopback"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", default=sys.executable, help="the device's Python")
    ap.add_argument("--data-root")
    ap.add_argument("--weights")
    ap.add_argument("--formats", default="tflite,onnx")
    ap.add_argument("--cache")
    args = ap.parse_args()

    from edgesr.devices.loopback import loopback_device

    with tempfile.TemporaryDirectory(prefix="edgesr-loopback-") as tmp, \
            loopback_device(tmp, python=args.python, name="loopback") as profile:
        argv = [str(Path(sys.executable).parent / "edgesr"), "bench", "--device", str(profile),
                "--formats", args.formats, "-o", str(RESULTS)]
        argv += ["--data-root", args.data_root] if args.data_root else []
        argv += ["--weights", args.weights] if args.weights else []
        argv += ["--cache", args.cache] if args.cache else []
        code = subprocess.run(argv).returncode
        if code:
            raise SystemExit(code)
    md = RESULTS / "bench.md"
    md.write_text(f"`python benchmarks/ssh_loopback.py {' '.join(sys.argv[1:])}` (the device: this machine over "
                  f"ssh, its Python {args.python}), which ran:\n\n" + md.read_text())


if __name__ == "__main__":
    main()

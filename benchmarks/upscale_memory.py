"""Peak memory of ``edgesr upscale`` on large images through ONNX artifacts, against the bound of
issue 16: the output's size in uint8 plus 600 MB.

    python benchmarks/upscale_memory.py [--data-root ../shared/datasets] [--tile 128] [--auto]

Each case is one ``edgesr upscale`` process; its peak resident memory is the kernel's (``wait4``
ru_maxrss of that process alone). Inputs are mosaics of Urban100 photographs (real image content,
of the size the case asks for). ``--auto`` adds a run of each case without ``--tile`` (edgesr then
decides from the memory available). Results: benchmarks/results/upscale_memory.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BOUND_EXTRA = 600 * 2**20
Image.MAX_IMAGE_PIXELS = None  # reading back our own 192 MP output
# (model, scale, LR height, LR width): a 4K output from masrn, a 48 MP output... x16 from fsrcnn
CASES = [("masrn", 4, 540, 960), ("fsrcnn", 4, 3000, 4000)]


def cpu_name() -> str:
    with open("/proc/cpuinfo") as f:
        name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), platform.machine())
    flags = open("/proc/cpuinfo").read()
    return f"{name} ({'AVX-512 VNNI' if 'avx512_vnni' in flags else 'AVX2, no VNNI' if 'avx2' in flags else 'no AVX2'})"


def mosaic(data_root: Path, h: int, w: int) -> np.ndarray:
    """An h x w RGB image tiled from Urban100's photographs."""
    from edgesr.data.datasets import find_images
    from edgesr.data.io import read_image

    photos = [read_image(p) for p in find_images("Urban100", data_root).files[:16]]
    out = np.zeros((h, w, 3), np.uint8)
    i, y = 0, 0
    while y < h:
        x, row = 0, 0
        while x < w:
            p = photos[i % len(photos)]
            i += 1
            ph, pw = min(p.shape[0], h - y), min(p.shape[1], w - x)
            out[y:y + ph, x:x + pw] = p[:ph, :pw]
            x, row = x + pw, max(row, ph)
        y += row
    return out


def peak_rss(cmd: list[str]) -> tuple[int, float, int]:
    """(peak RSS in bytes, seconds, exit code) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code:
        print(err[-2000:], file=sys.stderr)
    return usage.ru_maxrss * 1024, seconds, code


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", default=os.environ.get("EDGESR_DATA"))
    ap.add_argument("--tile", type=int, default=128)
    ap.add_argument("--auto", action="store_true", help="also run each case without --tile")
    ap.add_argument("--work", type=Path, default=Path("/tmp/edgesr-upscale-memory"))
    args = ap.parse_args()
    if not args.data_root:
        sys.exit("point --data-root or EDGESR_DATA at the datasets folder")
    edgesr = str(Path(sys.executable).with_name("edgesr"))
    args.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for model, scale, h, w in CASES:
        art_dir = args.work / f"{model}_x{scale}"
        artifact = art_dir / f"{model}_x{scale}_fp32_dynamic.onnx"
        if not artifact.exists():
            subprocess.run([edgesr, "export", "-m", model, "-s", str(scale), "-f", "onnx", "-o", str(art_dir)],
                           check=True)
        artifact = next(art_dir.glob("*.onnx"))
        src = args.work / f"{model}_{w}x{h}.png"
        if not src.exists():
            Image.fromarray(mosaic(Path(args.data_root), h, w)).save(src)
        out_bytes = h * scale * w * scale * 3
        for tile in [args.tile] + ([None] if args.auto else []):
            out = args.work / f"{model}_{w}x{h}_x{scale}_{tile or 'auto'}.png"
            out.unlink(missing_ok=True)
            cmd = [edgesr, "upscale", str(src), "-a", str(artifact), "-o", str(out)] + (
                ["--tile", str(tile)] if tile else [])
            rss, seconds, code = peak_rss(cmd)
            with Image.open(out) as img:
                size_ok = img.size == (w * scale, h * scale)
            row = {"model": model, "scale": scale, "input": f"{w}x{h}", "output": f"{w * scale}x{h * scale}",
                   "tile": tile or "auto", "exit_code": code, "seconds": round(seconds, 1),
                   "peak_rss_mb": round(rss / 2**20), "output_uint8_mb": round(out_bytes / 2**20),
                   "bound_mb": round((out_bytes + BOUND_EXTRA) / 2**20),
                   "within_bound": bool(code == 0 and size_ok and rss <= out_bytes + BOUND_EXTRA),
                   "command": "edgesr upscale IN -a ARTIFACT -o OUT.png" + (f" --tile {tile}" if tile else "")}
            rows.append(row)
            print(json.dumps(row))
    result = {"cpu": cpu_name(), "cores": os.cpu_count(), "python": platform.python_version(),
              "date": time.strftime("%Y-%m-%d"), "command": "python benchmarks/upscale_memory.py"
              + (" --auto" if args.auto else "") + (f" --tile {args.tile}" if args.tile != 128 else ""), "rows": rows}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "upscale_memory.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"`{result['command']}` on {result['cpu']}, {result['cores']} cores, {result['date']}", "",
             "| model | input | output | tile | seconds | peak RSS MB | output uint8 MB | bound MB | within |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['model']} x{r['scale']} | {r['input']} | {r['output']} | {r['tile']} | {r['seconds']} | "
              f"{r['peak_rss_mb']} | {r['output_uint8_mb']} | {r['bound_mb']} | {'yes' if r['within_bound'] else 'NO'} |"
              for r in rows]
    (RESULTS / "upscale_memory.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""How an image smaller than one tile is padded, measured: Set5 PSNR of the shipped masrn run in
fixed tiles (as a fixed-shape artifact runs) against the full-frame run, per numpy pad mode.

The full-frame network sees zeros past every border at every layer; a padded tile sees the padding
through the first layer and the network's own activations past it after, so no padding is exact.
This measures which comes closest. Writes benchmarks/results/tile_padding.json.

    python benchmarks/tile_padding.py [--data-root ../shared/datasets] [--tile 100]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
MODES = ("edge", "symmetric", "reflect", "constant")


def main() -> None:
    import torch

    from edgesr.data.datasets import find_images
    from edgesr.evaluation.evaluate import evaluate
    from edgesr.inference import upscale
    from edgesr.models.weights import load_model
    from edgesr.runtimes.torch import TorchRunner

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-root", default=None)
    ap.add_argument("--tile", type=int, default=100, help="tile core in LR pixels (the receptive radius is added each side)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    images = find_images("Set5", args.data_root)
    rows = []
    for scale in (2, 3, 4):
        model = load_model("masrn", scale)
        with TorchRunner(model, scale) as full:
            reference = evaluate(lambda lr, s: upscale(full, lr), images, scale).psnr
        with TorchRunner(model, scale, tile=(args.tile, args.tile)) as tiled:
            row = {"scale": scale, "tile": list(tiled.tile), "overlap": tiled.overlap, "full_frame": round(reference, 4)}
            for mode in MODES:
                tiled.pad = mode
                row[mode] = round(evaluate(lambda lr, s: upscale(tiled, lr), images, scale).psnr - reference, 4)
        rows.append(row)
        print(json.dumps(row), flush=True)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "tile_padding.json"
    out.write_text(json.dumps({"model": "masrn (shipped)", "set": "Set5", "unit": "dB against full frame",
                               "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

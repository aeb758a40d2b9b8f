"""Core ML W8A8 quality, emulated: a Core ML model predicts only on macOS, so this builds each W8A8
package's network as ``edgesr export -f coreml -p w8a8`` does (same calibration, ranges and
quantize/dequantize placement) and runs it through ``edgesr.formats.coreml.export.emulate``: float32
PyTorch with the package's int8 weights and its activation rounding (positions and scales read
from the converted MIL program). Float16 compute between the pairs is not emulated.

Rows: masrn x2, x3, x4 and asym_vdsr x4, every activation int8 (the INT8 scheme's symmetric form),
from the shipped QAT weights (the default) and from the float ones (``--quant ptq``); Set5 PSNR (Y,
shave = scale) and dPSNR against PyTorch FP32 of the shipped float weights.

Writes benchmarks/results/coreml_w8a8.{json,md}.

    python benchmarks/coreml_w8a8.py [--data-root ../shared/datasets] [--calib-images 64]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
ROWS = [("masrn", 2), ("masrn", 3), ("masrn", 4), ("asym_vdsr", 4)]


def emulated_upscaler(model, scale: int, calib_images: int, data_root: str | None, pure_int8: bool):
    """``upscale(lr, scale)`` running the emulated W8A8 package of ``model`` at ``scale``."""
    import numpy as np
    import torch

    from edgesr.data.calibration import DEFAULT_CALIBRATION_SET, calibration_images, calibration_inputs
    from edgesr.formats import DEFAULT_FIXED_SIZE
    from edgesr.formats.coreml.export import _activations, _convert, emulate
    from edgesr.inference import super_resolve
    from edgesr.models.scale import network_for_scale, network_input_size

    size = network_input_size(model, DEFAULT_FIXED_SIZE, scale)
    net = network_for_scale(model, scale)
    calibration = calibration_inputs(model, scale, DEFAULT_CALIBRATION_SET, calib_images, DEFAULT_FIXED_SIZE, data_root)
    ranges = calibration_images(model, scale, DEFAULT_CALIBRATION_SET, calib_images, data_root)
    # two enumerated sizes: a program with dynamic H and W, so whole images run through it
    sizes = [size, (size[0] + 8, size[1] + 8)]
    acts = _activations(model, scale, net, sizes, calibration, ranges, pure_int8)
    _convert(net, model.spec.channels, sizes, "w8a8", "iOS16", acts)
    run = emulate(acts)

    def infer(x: np.ndarray) -> np.ndarray:
        return run(torch.from_numpy(x)).clamp(0, 1).numpy()

    return lambda lr, s: super_resolve(lr, s, model.spec, infer), sum(len(v) for v in acts.plan.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=os.environ.get("EDGESR_DATA"))
    parser.add_argument("--calib-images", type=int, default=64)
    parser.add_argument("--out", type=Path, default=RESULTS / "coreml_w8a8")
    parser.add_argument("--render", action="store_true", help="only write the .md again from the .json")
    args = parser.parse_args()
    if args.render:
        args.out.with_suffix(".md").write_text(markdown(json.loads(args.out.with_suffix(".json").read_text())))
        return

    from edgesr.data.datasets import find_images
    from edgesr.devices.ondevice import cpu_info
    from edgesr.evaluation.compare import compare_with_truth
    from edgesr.conversion.api import choose_weights, tool_versions
    from edgesr.inference import torch_upscaler
    from edgesr.models.weights import load_model

    images = find_images("Set5", args.data_root)
    rows = []
    for name, scale in ROWS:
        reference = torch_upscaler(load_model(name, scale))
        for quant in ("auto", "ptq"):
            weights, method = choose_weights(name, scale, "coreml", "w8a8", quant=quant)
            model = load_model(name, scale, weights)
            t = time.perf_counter()
            upscale, pairs = emulated_upscaler(model, scale, args.calib_images, args.data_root, True)
            result, dpsnr = compare_with_truth(upscale, reference, images, scale)
            rows.append({"model": name, "scale": scale, "weights": method, "rounded_inputs": pairs,
                         "psnr_vs_torch": result.psnr, "dpsnr": dpsnr, "seconds": round(time.perf_counter() - t, 1)})
            print(rows[-1], flush=True)
    result = {"host_cpu": cpu_info(), "tools": tool_versions(), "dataset": "Set5",
              "command": "python benchmarks/coreml_w8a8.py" + (f" --calib-images {args.calib_images}"
                                                               if args.calib_images != 64 else ""),
              "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))


def markdown(result: dict) -> str:
    lines = [f"`{result['command']}`", "",
             f"CPU: {result['host_cpu']['model']} (emulation in float32 PyTorch; the CPU does not change it). "
             "Set5, dPSNR against PyTorch FP32 of the shipped float weights; every activation int8 but the "
             "image (input, its nearest upsampling, output: float16); weights: qat = the shipped QAT weights "
             "(the default), ptq = the float ones.", "",
             "| model | scale | weights | Set5 dPSNR | PSNR vs PyTorch FP32 |", "|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['model']} | x{r['scale']} | {r['weights']} | {r['dpsnr']:+.3f} | {r['psnr_vs_torch']:.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

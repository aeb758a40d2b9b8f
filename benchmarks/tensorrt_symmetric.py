"""The symmetric INT8 graph TensorRT builds its engines from (edgesr's INT8 scheme with zero points of
0, from the shipped QAT weights and edgesr's ranges; the image stays float), scored on Set5 by ONNX
Runtime's int8 kernels on this CPU: what the scheme costs before TensorRT's own kernels, which run
only on an NVIDIA GPU.

Writes benchmarks/results/tensorrt_symmetric.{json,md}.

    python benchmarks/tensorrt_symmetric.py [--data-root ../shared/datasets] [--scales 2,3,4]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def export_symmetric(scale: int, root: str, out: Path) -> Path:
    """masrn's symmetric INT8 ONNX graph at ``scale`` (the QAT weights, ranges on T91) in ``out``, with
    a manifest so edgesr's runner opens it."""
    from edgesr.data.calibration import calibration_images, calibration_inputs
    from edgesr.conversion.api import choose_weights
    from edgesr.formats import get_format
    from edgesr.formats.base import Conversion
    from edgesr.manifest import Manifest, Skip, sha256, write_manifest
    from edgesr.models.weights import load_model

    weights, method = choose_weights("masrn", scale, "tensorrt", "int8")
    if method != "qat":
        raise SystemExit(f"TensorRT INT8 takes {method} weights, expected qat")
    model = load_model("masrn", scale, weights)
    calibration = calibration_inputs(model, scale, "T91", 64, (64, 64), root)
    path = out / f"masrn_x{scale}_symmetric.onnx"
    job = Conversion((scale,), "int8", calibration={scale: calibration}, symmetric=True,
                     range_inputs={scale: calibration_images(model, scale, "T91", 64, root)})
    exported = get_format("onnx").export(model, path, job)
    inp, outp = exported.input, exported.output
    write_manifest(path, Manifest(model="masrn", scales=(scale,), format="onnx", precision="int8", colour="rgb",
                                  upsampling="post", input=inp, output=outp, artifact_sha256=sha256(path),
                                  weights_sha256=None, check=Skip.NOT_ASKED.check("not asked for")))
    return path


def dpsnr(path: Path, scale: int, root: str, dataset: str = "Set5") -> float:
    """PSNR of ``path`` run by ONNX Runtime, less the shipped float masrn's in PyTorch (dB)."""
    from edgesr.data.datasets import find_images
    from edgesr.evaluation.compare import compare_with_truth
    from edgesr.formats.registry import open_runner
    from edgesr.inference import torch_upscaler, upscale
    from edgesr.models.weights import load_model

    with open_runner(path, allow_unchecked=True) as runner:
        return compare_with_truth(lambda lr, s: upscale(runner, lr), torch_upscaler(load_model("masrn", scale)),
                                  find_images(dataset, root), scale)[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", default=os.environ.get("EDGESR_DATA"))
    parser.add_argument("--scales", default="2,3,4")
    args = parser.parse_args()
    if not args.data_root:
        raise SystemExit("give --data-root (or set EDGESR_DATA): the folder holding T91 and Set5")
    from edgesr.runtimes.measure import cpu_info

    scales = tuple(int(s) for s in args.scales.split(","))
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for scale in scales:
            loss = dpsnr(export_symmetric(scale, args.data_root, Path(d)), scale, args.data_root)
            rows.append({"scale": scale, "dpsnr_set5": loss})
            print(f"x{scale}: {loss:+.4f} dB", flush=True)
    cpu = cpu_info()
    command = "python benchmarks/tensorrt_symmetric.py --data-root ../shared/datasets" + (
        f" --scales {args.scales}" if args.scales != "2,3,4" else "")
    lines = [f"`{command}`", "",
             f"CPU: {cpu['model']} ({cpu['machine']}; integer-kernel features: {', '.join(cpu['int_flags']) or 'none'}); "
             "masrn's symmetric INT8 ONNX graph (TensorRT's), QAT weights, run by ONNX Runtime; dPSNR on Set5 against "
             "the float masrn in PyTorch.", "", "| scale | dPSNR Set5 (dB) |", "|---|---|"]
    lines += [f"| x{r['scale']} | {r['dpsnr_set5']:+.3f} |" for r in rows]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tensorrt_symmetric.json").write_text(json.dumps({"host_cpu": cpu, "rows": rows, "command": command},
                                                                indent=2) + "\n")
    (RESULTS / "tensorrt_symmetric.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""``edgesr export``: a model to an artifact and its manifest, checked against PyTorch."""

from __future__ import annotations

from pathlib import Path

import click

from edgesr.cli.common import SCALE, OutputPath, data_root_option, model_named, parse_scales, parse_size, stderr
from edgesr.formats import FORMATS


@click.command("export")
@click.option("--model", "-m", "model_name", default=None,
              help="A model name (see `edgesr models`), package.module:factory or path/to/file.py:factory "
                   "[default: the one a --weights file from edgesr train names].")
@click.option("--scale", "-s", type=SCALE, default=None, help="One scale (or --scales).")
@click.option("--scales", default=None, metavar="2,3,4",
              help="Several scales of a multi-scale model (masrn) in ONE artifact: shared trunk, a head per scale.")
@click.option("--format", "-f", "fmt", required=True, help=f"{', '.join(FORMATS)} (see docs/targets.md).")
@click.option("--precision", "-p", default=None,
              help="fp32, fp16, int8 (edgesr's INT8 scheme: every activation 8-bit, the same in every format) or "
                   "w8a16 (onnx, tflite: int8 weights, int16 activations; coreml: int8 is weights only, w8a8 int8 "
                   "weights and activations, palette6 6-bit weights), as the format allows [default: fp32; "
                   "tensorrt fp16].")
@click.option("--quant", type=click.Choice(["auto", "ptq", "qat"]), default="auto", show_default=True,
              help="int8/w8a8/w8a16: start from the shipped quantization-aware weights (qat) or the float ones "
                   "(ptq); auto: qat for int8 where shipped, ptq otherwise.")
@click.option("--pure-int8", is_flag=True,
              help="int8 (coreml: w8a8): every activation in 8 bits, also in the 16-bit parts a model of your own "
                   "declares (int16_modules; no shipped model has any), for accelerators without 16-bit activations.")
@click.option("--weights", "-w", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--input-size", default=None, metavar="HxW[,HxW...]",
              help="Fixed LR input size (default: dynamic where the format allows); coreml takes several.")
@click.option("--profile", default=None, metavar="MIN,OPT,MAX",
              help="tensorrt: the optimization profile's input sizes, e.g. 16x16,256x256,1024x1024.")
@click.option("--targets", default=None, metavar="SM,SM...",
              help="tensorrt-rtx: the GPU architectures to build the engine for, e.g. sm86,sm89 (default: "
                   "TensorRT for RTX's own).")
@click.option("--dynamic", is_flag=True, help="Dynamic input H and W (the default where the format allows).")
@click.option("--calib-data", default="T91", show_default=True, help="Set name or folder of calibration images (int8, w8a8, w8a16).")
@click.option("--calib-images", type=click.IntRange(1), default=64, show_default=True)
@click.option("--output", "-o", "out_dir", type=OutputPath(file_okay=False, path_type=Path), required=True)
@click.option("--no-check", is_flag=True,
              help="Write the artifact without running it against PyTorch on Set5 (its manifest says so).")
@click.option("--io", "io", type=click.Choice(sorted({m for b in FORMATS.values() for m in b.io})), default=None,
              help="What the artifact takes and gives: tensor (float on [0, 1], the default; LiteRT INT8: int8), "
                   "image (Core ML images, 0-255, for Vision and Xcode's preview), uint8 (LiteRT INT8: uint8 pixels).")
@click.option("--verbose", "-v", is_flag=True, help="Show the converters' own output as it comes.")
@data_root_option
def export_cmd(model_name: str, scale: int | None, scales: str | None, fmt: str, precision: str | None,
               quant: str, pure_int8: bool, weights: Path | None, input_size: str | None, profile: str | None,
               targets: str | None, dynamic: bool, calib_data: str, calib_images: int, out_dir: Path, no_check: bool, io: str | None,
               verbose: bool, data_root: Path | None) -> None:
    """Export a model to an artifact and its manifest (<artifact>.json), checked against PyTorch on
    Set5 (a fixed --input-size must hold the model's receptive field). The steps are reported on
    stderr; the converters' output is shown when a step fails, or with --verbose."""
    from edgesr.api.exporting import export_with, summary
    from edgesr.api.sources import resolve
    from edgesr.conversion.options import ExportOptions

    model_name = model_named(model_name, weights)
    if model_name is None:
        raise click.UsageError("give --model (or --weights from edgesr train, which names its model)")
    if input_size and dynamic:
        raise click.UsageError("--input-size and --dynamic exclude each other")
    if (scale is None) == (scales is None):
        raise click.UsageError("give exactly one of --scale and --scales")
    opts = ExportOptions.build(parse_scales(scales) if scales is not None else scale, fmt, precision=precision,
                               weights=weights, input_size=_sizes(input_size), profile=_profile(profile),
                               calib_data=calib_data, calib_images=calib_images, data_root=data_root, quant=quant,
                               pure_int8=pure_int8, io=io, check=not no_check, verbose=verbose,
                               targets=tuple(t.strip().lower() for t in targets.split(",")) if targets else ())
    artifact = export_with(resolve(model_name, kind="model", weights=weights), opts, out_dir, log=stderr)
    click.echo(summary(artifact))


def _sizes(text: str | None) -> list[tuple[int, int]] | None:
    return [parse_size(v, "--input-size") for v in text.split(",")] if text else None


def _profile(text: str | None) -> tuple[tuple[int, int], ...] | None:
    if not text:
        return None
    shapes = tuple(parse_size(v, "--profile") for v in text.split(","))
    if len(shapes) != 3:
        raise click.BadParameter(f"expected MIN,OPT,MAX sizes, got {text!r}", param_hint="--profile")
    return shapes


@click.command("info")
@click.argument("artifact", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the contract as JSON.")
def info_cmd(artifact: Path, as_json: bool) -> None:
    """What ARTIFACT takes and gives (its I/O contract), read from the artifact alone: the metadata
    edgesr export writes inside ONNX, LiteRT, Core ML and OpenVINO artifacts. Where a manifest lies
    beside it, the two must agree, and its op census is shown too."""
    import json

    from edgesr.formats.registry import read_contract
    from edgesr.manifest import manifest_path, read_manifest
    from edgesr.metadata import check_agrees, summary

    contract = read_contract(artifact)
    manifest = read_manifest(artifact, verify=False) if manifest_path(artifact).is_file() else None
    if manifest is not None:
        check_agrees(artifact, manifest, contract)
    if as_json:
        click.echo(json.dumps(contract, indent=2))
        return
    click.echo(summary(contract))
    for head in contract["heads"] or [{"scale": contract["scales"][0], "entry": "", "input": contract["input"],
                                       "output": contract["output"]}]:
        entry = f" (entry {head['entry']})" if head["entry"] else ""
        for role in ("input", "output"):
            t = head[role]
            size = f"{t['height']}x{t['width']}" if t["height"] else "HxW"
            quant = f" q=(scale {t['quantization'][0]:.6g}, zero point {t['quantization'][1]})" if t["quantization"] else ""
            click.echo(f"  x{head['scale']}{entry} {role:6} {t['name']}: {t['layout']} {t['dtype']} "
                       f"{t['channels']}x{size}{quant}")
    ops = manifest.ops if manifest is not None else {}
    if ops.get("ops"):  # the op census, from the manifest (what a GPU delegate or NPU would leave to the CPU)
        click.echo("  ops: " + ", ".join(f"{k} {v}" for k, v in ops["ops"].items()) + f"; max rank {ops['max_rank']}")
        for f in ops["cpu_fallback"]:
            click.echo(f"  CPU fallback: {f['count']} {f['op']}: {f['why']}")

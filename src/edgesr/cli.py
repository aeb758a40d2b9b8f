"""The ``edgesr`` command line: one thin click command per verb, each calling one API function."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import click

from edgesr import __version__
from edgesr.errors import EdgesrError

SCALE = click.IntRange(2, 4)  # every model serves x2, x3 and x4 (degrade takes up to x8)


class _Group(click.Group):
    """Turns every :class:`EdgesrError`, and a file that cannot be read or written, into a
    one-line message and exit code 1 (usage errors: 2)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except EdgesrError as exc:
            raise click.ClickException(str(exc)) from exc
        except OSError as exc:  # a blocked, read-only or full output; a missing input
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from exc


def _data_root_option(f):
    return click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Folder holding Set5, Set14, BSD100, ... (default: $EDGESR_DATA).")(f)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgesr")
def main() -> None:
    """edgesr: lightweight super-resolution from training to measured deployment."""


@main.command("models")
@click.option("--size", default="256x256", show_default=True, help="LR input size (HxW) for multiply-adds.")
def models_cmd(size: str) -> None:
    """List the models: colour, scales, parameters and multiply-adds."""
    from edgesr.models.listing import model_table

    click.echo(model_table(_parse_size(size, "--size")))


@main.command("degrade")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("dst", type=click.Path(file_okay=False, path_type=Path))
@click.option("--scale", "-s", type=click.IntRange(2, 8), required=True, help="Downscaling factor.")
def degrade_cmd(src: Path, dst: Path, scale: int) -> None:
    """Write the MATLAB-bicubic LR image of every HR image in SRC to DST (PNG). A bad image is
    reported and skipped; the exit code is then 1."""
    from edgesr.data.degrade import degrade_folder

    result = degrade_folder(src, dst, scale, report=lambda line: click.echo(line, err=True))
    click.echo(f"wrote {len(result.written)} LR images (x{scale}) to {dst}")
    result.check()


@main.command("eval")
@click.option("--model", "-m", "model_name", default=None, help="Model name (see `edgesr models`).")
@click.option("--artifact", "-a", type=click.Path(path_type=Path), default=None,
              help="An exported artifact (with its manifest) instead of a model.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None,
              help="Where an onnx artifact runs (cuda: ONNX Runtime's CUDA provider) or a model (PyTorch).")
@click.option("--dataset", "-d", required=True, help="Set5, Set14, BSD100 (B100), Urban100, DIV2K, or a folder.")
@click.option("--scale", "-s", type=SCALE, default=None, help="Required with --model; an artifact knows its own.")
@click.option("--weights", "-w", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A .safetensors file (default: the shipped weights).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the means and per-image scores as JSON.")
@_data_root_option
def eval_cmd(model_name: str | None, artifact: Path | None, device: str | None, dataset: str, scale: int | None,
             weights: Path | None, json_path: Path | None, data_root: Path | None) -> None:
    """PSNR and SSIM (Y, shave = scale) of a model or an artifact on a benchmark set."""
    from edgesr.data.datasets import find_images
    from edgesr.evaluation.evaluate import evaluate

    if (model_name is None) == (artifact is None):
        raise click.UsageError("give exactly one of --model and --artifact")
    if json_path is not None:
        from edgesr._files import check_writable

        check_writable(json_path.parent, "--json")
    if artifact is not None:
        from edgesr.runtimes.registry import open_runner

        images = find_images(dataset, data_root)
        runner = open_runner(artifact, _artifact_scale(artifact, scale), device=device)
        label, scale = artifact.name, runner.scale
        upscale_fn, context = (lambda lr, s: runner.infer(lr)), runner
    else:
        from edgesr.models.registry import check_model_scale, get_spec

        if scale is None:
            raise click.UsageError("--scale is required with --model")
        check_model_scale(get_spec(model_name), scale)  # before PyTorch is imported: a typo fails at once
        images = find_images(dataset, data_root)
        from edgesr.inference import torch_upscaler
        from edgesr.models.weights import load_model

        label, upscale_fn = model_name, torch_upscaler(load_model(model_name, scale, weights), device=device)
        context = contextlib.nullcontext()
    from edgesr.data.io import check_images

    check_images(images.files)  # every image refused now, not after scoring the others
    click.echo(f"{label} x{scale} on {images.name} ({len(images)} images)")
    click.echo(f"{'image':<24}{'PSNR':>10}{'SSIM':>10}")

    def show(score) -> None:
        click.echo(f"{score.name:<24}{score.psnr:>10.4f}{score.ssim:>10.4f}")

    with context:
        result = evaluate(upscale_fn, images, scale, model=label, progress=show)
    click.echo(f"{'mean':<24}{result.psnr:>10.4f}{result.ssim:>10.4f}")
    if json_path is not None:
        result.write_json(json_path)


@main.command("export")
@click.option("--model", "-m", "model_name", required=True)
@click.option("--scale", "-s", type=SCALE, default=None, help="One scale (or --scales).")
@click.option("--scales", default=None, metavar="2,3,4",
              help="Several scales of a multi-scale model (masrn) in ONE artifact: shared trunk, a head per scale.")
@click.option("--format", "-f", "fmt", required=True, help="onnx, tflite, coreml or tensorrt (see README, Targets).")
@click.option("--precision", "-p", default=None,
              help="fp32, fp16, int8 or w8a16 (onnx, tflite: int8 weights, int16 activations; coreml: int8 is "
                   "weights only, w8a8 int8 weights and activations, palette6 6-bit weights), as the format allows "
                   "[default: fp32; tensorrt fp16].")
@click.option("--quant", type=click.Choice(["auto", "ptq", "qat"]), default="auto", show_default=True,
              help="int8/w8a8/w8a16: start from the shipped quantization-aware weights (qat) or the float ones "
                   "(ptq); auto: qat for int8 where shipped, ptq otherwise.")
@click.option("--pure-int8", is_flag=True,
              help="int8 (coreml: w8a8): every activation in 8 bits, also where the model keeps 16 (masrn's "
                   "upscale and refine stages), for accelerators without 16-bit activations; costs quality.")
@click.option("--weights", "-w", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--input-size", default=None, metavar="HxW[,HxW...]",
              help="Fixed LR input size (default: dynamic where the format allows); coreml takes several.")
@click.option("--profile", default=None, metavar="MIN,OPT,MAX",
              help="tensorrt: the optimization profile's input sizes, e.g. 16x16,256x256,1024x1024.")
@click.option("--dynamic", is_flag=True, help="Dynamic input H and W (the default where the format allows).")
@click.option("--calib-data", default="T91", show_default=True, help="Set name or folder of calibration images (int8, w8a8, w8a16).")
@click.option("--calib-images", type=click.IntRange(1), default=64, show_default=True)
@click.option("--output", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--no-check", is_flag=True,
              help="Write the artifact without running it against PyTorch on Set5 (its manifest says so).")
@click.option("--verbose", "-v", is_flag=True, help="Show the converters' own output as it comes.")
@_data_root_option
def export_cmd(model_name: str, scale: int | None, scales: str | None, fmt: str, precision: str | None,
               quant: str, pure_int8: bool, weights: Path | None, input_size: str | None, profile: str | None,
               dynamic: bool, calib_data: str, calib_images: int, out_dir: Path, no_check: bool, verbose: bool,
               data_root: Path | None) -> None:
    """Export a model to an artifact and its manifest (<artifact>.json), checked against PyTorch on
    Set5 (a fixed --input-size must hold the model's receptive field). The steps are reported on
    stderr; the converters' output is shown when a step fails, or with --verbose."""
    from edgesr.export.formats import check_precision, get_format
    from edgesr.models.registry import get_spec

    get_spec(model_name)  # names checked before PyTorch is imported: a typo fails at once
    if precision is not None:
        check_precision(get_format(fmt), precision)
    else:
        get_format(fmt)
    from edgesr.export.api import export_model
    from edgesr.export.manifest import artifact_bytes, read_manifest

    if input_size and dynamic:
        raise click.UsageError("--input-size and --dynamic exclude each other")
    if (scale is None) == (scales is None):
        raise click.UsageError("give exactly one of --scale and --scales")
    if scales is not None:
        try:
            chosen = tuple(int(v) for v in scales.split(","))
        except ValueError:
            raise click.BadParameter(f"expected scales such as 2,3,4, got {scales!r}", param_hint="--scales") from None
    else:
        chosen = scale
    sizes = [_parse_size(v, "--input-size") for v in input_size.split(",")] if input_size else None
    extra = {}
    if profile:
        shapes = [_parse_size(v, "--profile") for v in profile.split(",")]
        if len(shapes) != 3:
            raise click.BadParameter(f"expected MIN,OPT,MAX sizes, got {profile!r}", param_hint="--profile")
        extra["profile"] = tuple(shapes)
    artifact = export_model(model_name, chosen, fmt, out_dir, precision=precision, weights=weights,
                            lr_size=sizes[0] if sizes and len(sizes) == 1 else sizes, calib_data=calib_data,
                            calib_images=calib_images, data_root=str(data_root) if data_root else None, quant=quant,
                            pure_int8=pure_int8, check=not no_check, verbose=verbose,
                            log=lambda line: click.echo(line, err=True), **extra)
    manifest = read_manifest(artifact)
    check = manifest.check
    psnr = check.get("psnr_vs_torch")
    if psnr is None:
        detail = check.get("skipped", "")
    else:
        close = "identical to PyTorch's" if psnr == float("inf") else f"{psnr:.2f} dB from PyTorch's"
        detail = f"on {check['dataset']}: {check['dpsnr']:+.3f} dB PSNR against PyTorch, output {close}"
    if manifest.quant_method:
        detail += f"; {manifest.quant_method.upper()} weights"
    click.echo(f"wrote {artifact} ({artifact_bytes(artifact) / 1e6:.2f} MB); {detail}")


def _parse_size(text: str, option: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"expected HxW such as 256x256, got {text!r}", param_hint=option) from None
    if h < 1 or w < 1:
        raise click.BadParameter(f"sizes must be positive, got {text!r}", param_hint=option)
    return h, w


@main.command("upscale")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--output", "-o", "out", type=click.Path(path_type=Path), required=True,
              help="Output folder (PNG files named after the inputs), or with one input image a file name "
                   "(.png, .jpg, .bmp, .tif).")
@click.option("--model", "-m", "model_name", default=None)
@click.option("--artifact", "-a", type=click.Path(path_type=Path), default=None)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None,
              help="Where an onnx artifact or a model runs.")
@click.option("--scale", "-s", type=SCALE, default=None,
              help="Required with --model and with an artifact that serves several scales.")
@click.option("--weights", "-w", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--tile", type=click.IntRange(8), default=None,
              help="Upscale in NxN pieces of the LR image (with the context each needs): bounded memory, same "
                   "result [default: whole images, or pieces sized to the memory available for large ones].")
def upscale_cmd(inputs: tuple[Path, ...], out: Path, model_name: str | None, artifact: Path | None,
                device: str | None, scale: int | None, weights: Path | None, tile: int | None) -> None:
    """Upscale images (files or folders) with a model or an artifact. Inputs are never replaced; a
    bad image is reported and skipped (exit code 1 at the end)."""
    from edgesr._files import check_writable
    from edgesr.data.batch import check_output, plan_outputs, run_batch
    from edgesr.data.io import IMAGE_SUFFIXES, WRITERS, list_images, read_image, write_image

    if (model_name is None) == (artifact is None):
        raise click.UsageError("give exactly one of --model and --artifact")
    files = [f for p in inputs for f in (list_images(p) if p.is_dir() else [p])]
    if not files:
        raise click.UsageError("no images found in the inputs")
    as_file = out.suffix.lower() in IMAGE_SUFFIXES and not out.is_dir()
    if as_file and (len(files) > 1 or inputs[0].is_dir()):
        raise click.UsageError(f"-o {out} names one file, but the inputs hold {len(files)} images; "
                               "give a folder to -o")
    if as_file:
        if out.suffix.lower() not in WRITERS:
            raise click.UsageError(f"cannot write {out.suffix} images; name the output "
                                   f"{', '.join(sorted(set(WRITERS)))}")
        check_output(out, files)
        pairs = [(files[0], out)]
    else:
        pairs = plan_outputs(files, out)
    runner = _open_upscaler(model_name, artifact, scale, weights, tile, device)
    runner.memory_budget = UPSCALE_PIECE_BYTES  # without --tile: pieces of about this much, whatever the photo
    check_writable(out.parent if as_file else out)
    report = _stderr

    with runner, click.progressbar(length=len(files), label="upscaling", file=sys.stderr,
                                   hidden=len(files) == 1) as bar:
        def work(src: Path, dst: Path) -> None:
            lr = read_image(src)
            with _piece_bar(len(files) == 1) as piece_bar:
                sr = runner.infer(lr, progress=piece_bar, keep_y=False)
            write_image(dst, sr.image)
            bar.update(1)

        result = run_batch(pairs, work, report)
    click.echo(f"wrote {len(result.written)} image(s) x{runner.scale} to {out}")
    result.check()


# what one piece of `upscale` may take without --tile: peak memory stays near the output's own size
# (benchmarks/upscale_memory.py), at little cost in speed
UPSCALE_PIECE_BYTES = 128 * 2**20


def _stderr(line: str) -> None:
    click.echo(line, err=True)


@contextlib.contextmanager
def _piece_bar(show: bool):
    """A progress callback ``(done, total)`` drawing a bar of pieces (a large single image only)."""
    state: dict = {}

    def progress(done: int, total: int) -> None:
        if not show:
            return
        if "bar" not in state:
            state["bar"] = click.progressbar(length=total, label="pieces", file=sys.stderr)
            state["bar"].__enter__()
        state["bar"].update(1)

    try:
        yield progress
    finally:
        if "bar" in state:
            state["bar"].__exit__(None, None, None)


def _artifact_scale(artifact: Path, scale: int | None) -> int:
    """The scale to run ``artifact`` at: ``scale``, or the one it serves; several need --scale."""
    from edgesr.export.manifest import read_manifest

    served = read_manifest(artifact).scales
    if scale is None and len(served) > 1:
        raise click.UsageError(f"{artifact.name} serves {', '.join(f'x{s}' for s in served)}: pass --scale")
    return served[0] if scale is None else scale


def _open_upscaler(model_name: str | None, artifact: Path | None, scale: int | None, weights: Path | None,
                   tile: int | None, device: str | None = None):
    if artifact is not None:
        from edgesr.runtimes.registry import open_runner

        return open_runner(artifact, _artifact_scale(artifact, scale), device=device,
                           **({"tile": (tile, tile)} if tile else {}))
    from edgesr.models.registry import check_model_scale, get_spec

    if scale is None:
        raise click.UsageError("--scale is required with --model")
    check_model_scale(get_spec(model_name), scale)  # before PyTorch is imported
    from edgesr.models.weights import load_model
    from edgesr.runtimes.torch import TorchRunner

    return TorchRunner(load_model(model_name, scale, weights), scale, device=device,
                       tile=(tile, tile) if tile else None)


@main.command("bench")
@click.option("--model", "-m", "model_name", default="masrn", show_default=True)
@click.option("--scales", default="4", show_default=True, metavar="2,3,4",
              help="Scales to bench; several scales of masrn share one artifact per format.")
@click.option("--formats", default=None, metavar="onnx,tflite,...",
              help="Formats to bench [default: every format whose converter is installed].")
@click.option("--precisions", default=None, metavar="fp32,fp16,int8,w8a16", help="[default: every precision of each format]")
@click.option("--quant", default="auto", show_default=True, metavar="auto|ptq|qat[,...]",
              help="int8/w8a16 rows from QAT or float (PTQ) weights; several give a row each (auto: QAT where shipped).")
@click.option("--device", "device_name", default="local", show_default=True, metavar="local|PROFILE",
              help="Where the artifacts run: this machine, or a device profile (a .toml path, or a name in "
                   "--devices-dir, $EDGESR_DEVICES or ~/.config/edgesr/devices; not ./devices).")
@click.option("--devices-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A folder of device profiles (TOML).")
@click.option("--dataset", "-d", default=None,
              help="Set5, Set14, BSD100, ... or a folder [default: Set5; scikit-image's photographs, "
                   "labelled as such, when no data root holds Set5].")
@click.option("--input-size", default="256x256", show_default=True, metavar="HxW",
              help="LR input of the latency runs (and the fixed shape of fixed-shape exports).")
@click.option("--weights", "-w", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A .safetensors file (default: the shipped weights).")
@click.option("--min-runs", type=click.IntRange(1), default=5, show_default=True)
@click.option("--min-seconds", type=click.FloatRange(0), default=2.0, show_default=True)
@click.option("--output", "-o", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("edgesr-bench"),
              show_default=True, help="Folder for bench.md, bench.json, bench.csv and bench.png.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the JSON here instead of OUTPUT/bench.json.")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Export cache [default: $EDGESR_CACHE/bench or ~/.cache/edgesr/bench].")
@_data_root_option
def bench_cmd(model_name: str, scales: str, formats: str | None, precisions: str | None, quant: str, device_name: str,
              devices_dir: Path | None,
              dataset: str | None, input_size: str, weights: Path | None, min_runs: int, min_seconds: float,
              out_dir: Path, json_path: Path | None, cache: Path | None, data_root: Path | None) -> None:
    """Export, run and score every format and precision against the PyTorch FP32 baseline. Exits 1
    when a row fails (export failed, or exported but failed validation), after writing the report."""
    from edgesr._files import check_writable
    from edgesr.bench.options import BenchOptions, check_options  # no torch: refusals are quick

    def names(text: str | None) -> tuple[str, ...] | None:
        return tuple(v.strip() for v in text.split(",") if v.strip()) if text else None

    try:
        chosen = tuple(int(v) for v in scales.split(","))
    except ValueError:
        raise click.BadParameter(f"expected scales such as 2,3,4, got {scales!r}", param_hint="--scales") from None
    opts = BenchOptions(model=model_name, scales=chosen, dataset=dataset, formats=names(formats),
                        precisions=names(precisions), quant=names(quant) or (),
                        data_root=str(data_root) if data_root else None,
                        input_size=_parse_size(input_size, "--input-size"),
                        weights=str(weights) if weights else None, min_runs=min_runs, min_seconds=min_seconds,
                        device=device_name, devices_dir=str(devices_dir) if devices_dir else None)
    if cache is not None:
        opts.cache = cache
    check_options(opts)
    check_writable(out_dir, "--output")
    if json_path is not None:
        check_writable(json_path.parent, "--json")
    from edgesr._files import write_text
    from edgesr.bench.harness import bench, failed_rows, row_name
    from edgesr.bench.report import markdown, write_csv, write_json, write_plot

    report = bench(opts, log=lambda line: click.echo(line, err=True))
    report["command"] = "edgesr " + " ".join(sys.argv[1:])
    table = markdown(report)
    click.echo(table)
    try:
        written = [write_text(out_dir / "bench.md", f"`{report['command']}`\n\n" + table),
                   write_json(report, json_path or out_dir / "bench.json"), write_csv(report, out_dir / "bench.csv")]
        plot = write_plot(report, out_dir / "bench.png")
    except OSError as exc:
        raise EdgesrError(f"cannot write the bench report to {out_dir}: {exc.strerror or exc}") from None
    written += [plot] if plot else []
    click.echo(f"wrote {', '.join(str(p) for p in written)}" + ("" if plot else " (no plot: pip install matplotlib)"))
    failed = failed_rows(report)
    if failed:
        raise EdgesrError(f"{len(failed)} of {len(report['rows'])} rows failed: "
                          + "; ".join(f"{row_name(r)} {r['status']}" for r in failed)
                          + f" (reasons in {out_dir / 'bench.md'})")


@main.command("compare")
@click.argument("first")
@click.argument("second")
@click.option("--dataset", "-d", default="Set5", show_default=True)
@click.option("--scale", "-s", type=SCALE, default=None, help="Required when neither side is an artifact.")
@click.option("--weights", "-w", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Weights for a model side (default: the shipped weights).")
@_data_root_option
def compare_cmd(first: str, second: str, dataset: str, scale: int | None, weights: Path | None,
                data_root: Path | None) -> None:
    """Two artifacts, or a model and an artifact, on the same inputs: largest absolute difference and
    PSNR between their outputs, per image."""
    import numpy as np

    from edgesr.data.datasets import find_images
    from edgesr.data.degrade import degrade
    from edgesr.data.io import read_image
    from edgesr.evaluation.metrics import psnr_y

    served = [_side(name) for name in (first, second)]
    common = set.intersection(*(set(s) for s in served if s is not None)) if any(served) else None
    if common is not None and not common:
        a, b = (", ".join(f"x{v}" for v in s) for s in served)
        raise EdgesrError(f"{first} serves {a} and {second} serves {b}: no scale to compare them at")
    if scale is None:
        if common is None:
            raise click.UsageError("--scale is required when neither side is an artifact")
        if len(common) > 1:
            raise click.UsageError(f"both sides serve {', '.join(f'x{v}' for v in sorted(common))}: pass --scale")
        scale = common.pop()
    elif common is not None and scale not in common:
        raise EdgesrError(f"x{scale} is not served by both sides (common: "
                          f"{', '.join(f'x{v}' for v in sorted(common))})")
    runners = [_runner(name, scale, weights) for name in (first, second)]
    images = find_images(dataset, data_root)
    click.echo(f"{first} vs {second}, x{scale} on {images.name}")
    click.echo(f"{'image':<24}{'max |diff|':>12}{'PSNR dB':>10}")
    worst = 0
    with runners[0] as a, runners[1] as b:
        for path in images.files:
            lr, _ = degrade(read_image(path), scale)
            ya, yb = a.infer(lr), b.infer(lr)
            diff = int(np.abs(ya.image.astype(np.int16) - yb.image.astype(np.int16)).max())
            worst = max(worst, diff)
            p = psnr_y(ya.y, yb.y)
            click.echo(f"{path.stem:<24}{diff:>12}{p:>10.2f}")
    click.echo(f"largest absolute difference: {worst} (uint8 levels)")


def _side(name: str) -> tuple[int, ...] | None:
    """The scales an artifact serves; None for a model."""
    path = Path(name)
    if path.exists():
        from edgesr.export.manifest import read_manifest

        return tuple(read_manifest(path).scales)
    if path.suffix or "/" in name or os.sep in name:
        raise EdgesrError(f"no such artifact: {name} (a path; models are named without a suffix, see `edgesr models`)")
    from edgesr.models.registry import get_spec

    get_spec(name)  # an unknown name is an error that lists the models
    return None


def _runner(name: str, scale: int, weights: Path | None):
    path = Path(name)
    if path.exists():
        return _open_upscaler(None, path, scale, None, None)
    return _open_upscaler(name, None, scale, weights, None)


@main.command("train")
@click.argument("config", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Override a config key (YAML value).")
@click.option("--resume", is_flag=True, help="Continue the run in out_dir from its last checkpoint.")
@click.option("--until", type=click.IntRange(1), default=None, metavar="ITER",
              help="Pause at this iteration with a checkpoint; --resume continues the same run.")
@click.option("--no-progress", is_flag=True, help="No progress line (the JSONL log is still written).")
def train_cmd(config: Path, overrides: tuple[str, ...], resume: bool, until: int | None, no_progress: bool) -> None:
    """Train a model from a YAML CONFIG (see configs/)."""
    from edgesr.train.config import load_config

    cfg = load_config(config, overrides)  # checked before PyTorch is imported
    from edgesr.train import train

    result = train(cfg, resume=resume, progress=not no_progress, until=until)
    best = f"{result.best_psnr:.3f} dB" if result.best_psnr is not None else "-"
    click.echo(f"done: {result.iterations} iterations, best validation PSNR {best}, in {result.out_dir}")


@main.command("asymmetrize")
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("dst", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dataset", "-d", default="Set5", show_default=True, help="Set to compare outputs on.")
@click.option("--scale", "-s", type=SCALE, default=2, show_default=True)
@_data_root_option
def asymmetrize_cmd(src: Path, dst: Path, dataset: str, scale: int, data_root: Path | None) -> None:
    """Turn trained vdsr weights SRC into asym_vdsr weights DST (truncated SVD) and report how
    close the converted model's output is before fine-tuning."""
    from edgesr.data.datasets import find_images
    from edgesr.evaluation.compare import compare_upscalers
    from edgesr.inference import torch_upscaler
    from edgesr.models.asym import asym_layers
    from edgesr.models.vdsr import vdsr_to_asym
    from edgesr.models.weights import load_model, save_weights

    images = find_images(dataset, data_root)
    vdsr = load_model("vdsr", weights=src)
    asym = vdsr_to_asym(vdsr)
    errors = [m.relative_error for _, m in asym_layers(asym)]
    click.echo(f"kernel error ||W - W'|| / ||W|| over {len(errors)} layers: "
               f"mean {sum(errors) / len(errors):.4f}, max {max(errors):.4f}")
    result = compare_upscalers(torch_upscaler(asym), torch_upscaler(vdsr), images, scale)
    click.echo(f"asym_vdsr output vs vdsr output, {images.name} x{scale}: "
               f"PSNR {result.psnr:.2f} dB, SSIM {result.ssim:.4f}")
    save_weights(asym, dst, metadata={"converted_from": str(src), "method": "truncated SVD"})
    click.echo(f"wrote {dst}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

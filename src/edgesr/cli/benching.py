"""``edgesr bench``: every format and precision exported, run, timed and scored against PyTorch."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from edgesr.cli.common import (OutputPath, data_root_option, is_stdout, model_named, names, parse_scales, parse_size,
                               stderr)


@click.command("bench")
@click.option("--model", "-m", "model_name", default=None,
              help="A model name (see `edgesr models`), package.module:factory or path/to/file.py:factory "
                   "[default: the one a --weights file from edgesr train names, else masrn].")
@click.option("--scales", "-s", default="4", show_default=True, metavar="2,3,4",
              help="Scales to bench; several scales of masrn share one artifact per format.")
@click.option("--formats", "-f", default=None, metavar="onnx,tflite,...",
              help="Formats to bench; pytorch: PyTorch's own precisions and modes beside the FP32 baseline "
                   "[default: every format whose converter is installed; --device cuda: pytorch and the GPU formats].")
@click.option("--precisions", "-p", default=None, metavar="fp32,fp16,bf16,int8,w8a16",
              help="[default: every precision of each format; bf16: pytorch only]")
@click.option("--torch-modes", default=None, metavar="eager,channels_last,compile,cuda_graphs",
              help="How the pytorch rows run: eager, channels_last, torch.compile, CUDA graphs (CUDA only) "
                   "[default: every mode].")
@click.option("--quant", default="auto", show_default=True, metavar="auto|ptq|qat[,...]",
              help="int8/w8a16 rows from QAT or float (PTQ) weights; several give a row each (auto: QAT where shipped).")
@click.option("--device", "device_name", default="local", show_default=True, metavar="local|cuda|browser|PROFILE",
              help="Where the artifacts run: this machine, its CUDA GPU (cuda: the desktop GPU baseline), headless "
                   "Chromium here (browser: ONNX artifacts in the web app), or a device profile (a .toml path, or a "
                   "name in --devices-dir, $EDGESR_DEVICES or ~/.config/edgesr/devices; not ./devices).")
@click.option("--devices-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="A folder of device profiles (TOML).")
@click.option("--dataset", "-d", default=None,
              help="Set5, Set14, BSD100, ... or a folder [default: Set5; scikit-image's photographs, "
                   "labelled as such, when no data root holds Set5].")
@click.option("--input-size", default="256x256", show_default=True, metavar="HxW",
              help="LR input of the latency runs (and the fixed shape of fixed-shape exports).")
@click.option("--weights", "-w", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A .safetensors file (default: the shipped weights).")
@click.option("--threads", type=click.IntRange(0), default=0, show_default=True,
              help="CPU threads of every runtime that takes a count, recorded in each row [0: every core of the "
                   "device].")
@click.option("--min-runs", type=click.IntRange(1), default=5, show_default=True)
@click.option("--min-seconds", type=click.FloatRange(0), default=2.0, show_default=True)
@click.option("--output", "-o", "out_dir", type=OutputPath(file_okay=False, path_type=Path), default=Path("edgesr-bench"),
              show_default=True, help="Folder for bench.md, bench.json, bench.csv and bench.png.")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the JSON here instead of OUTPUT/bench.json (-: to stdout, the table to stderr).")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Export cache [default: $EDGESR_CACHE/bench or ~/.cache/edgesr/bench].")
@click.option("--gpu-baseline", type=click.Path(path_type=Path), default=None,
              help="A bench.json from `edgesr bench --device cuda`, or a folder of them: each row's latency and "
                   "PSNR against the desktop GPU [default: $EDGESR_GPU_BASELINE, else benchmarks/results/gpu of a "
                   "source checkout; \"not measured\" where none matches].")
@data_root_option
def bench_cmd(model_name: str, scales: str, formats: str | None, precisions: str | None, torch_modes: str | None,
              quant: str, device_name: str, devices_dir: Path | None, dataset: str | None, input_size: str,
              weights: Path | None, threads: int, min_runs: int, min_seconds: float, out_dir: Path, json_path: Path | None,
              cache: Path | None, gpu_baseline: Path | None, data_root: Path | None) -> None:
    """Export, run and score every format and precision against the PyTorch FP32 baseline. Exits 1
    when a row fails (export failed, or exported but failed validation), after writing the report."""
    from edgesr._files import check_writable
    from edgesr.benchmark.options import BenchOptions, check_options  # no torch: refusals are quick

    opts = BenchOptions(model=model_named(model_name, weights) or "masrn", scales=parse_scales(scales), dataset=dataset, formats=names(formats),
                        precisions=names(precisions), quant=names(quant) or (),
                        torch_modes=(names(torch_modes) or ()) if torch_modes is not None else None,
                        gpu_baseline=str(gpu_baseline) if gpu_baseline else None,
                        data_root=str(data_root) if data_root else None,
                        input_size=parse_size(input_size, "--input-size"),
                        weights=str(weights) if weights else None, threads=threads, min_runs=min_runs,
                        min_seconds=min_seconds,
                        device=device_name, devices_dir=str(devices_dir) if devices_dir else None)
    if cache is not None:
        opts.cache = cache
    checked = check_options(opts)
    from edgesr.data.batch import check_folder, check_output

    images = list(checked.images.files) if checked.images is not None else []
    check_folder(out_dir, images)  # a report in a benchmark set's folder would become one of its images
    to_stdout = is_stdout(json_path)
    json_file = None if to_stdout else json_path
    if json_file is not None:
        check_output(json_file, images + ([weights] if weights else []))
    check_writable(out_dir, "--output")
    if json_file is not None:
        check_writable(json_file.parent, "--json")
    from edgesr.benchmark import harness
    from edgesr.benchmark.report import check_rows, json_text, markdown, write_report

    report = harness.bench(opts, log=stderr)
    report["command"] = "edgesr " + " ".join(sys.argv[1:])
    click.echo(markdown(report), err=to_stdout)  # with --json -, stdout holds the JSON alone
    written, plot = write_report(report, out_dir, json_file, with_json=not to_stdout)
    click.echo(f"wrote {', '.join(str(p) for p in written)}" + ("" if plot else " (no plot: pip install matplotlib)"),
               err=to_stdout)
    if to_stdout:
        click.echo(json_text(report), nl=False)
    check_rows(report, out_dir / "bench.md")

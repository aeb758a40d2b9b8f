"""``edgesr degrade`` and ``edgesr upscale``: folders of images in, one output each."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from edgesr.cli.common import SCALE, OutputPath, model_named, piece_bar, stderr


@click.command("degrade")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("dst", type=click.Path(file_okay=False, path_type=Path))
@click.option("--scale", "-s", type=click.IntRange(2, 8), required=True, help="Downscaling factor.")
def degrade_cmd(src: Path, dst: Path, scale: int) -> None:
    """Write the MATLAB-bicubic LR image of every HR image in SRC to DST (PNG). A bad image is
    reported and skipped; the exit code is then 1."""
    from edgesr.data.degrade import degrade_folder

    result = degrade_folder(src, dst, scale, report=stderr)
    click.echo(f"wrote {len(result.written)} LR images (x{scale}) to {dst}")
    result.check()


@click.command("upscale")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--output", "-o", "out", type=OutputPath(path_type=Path), required=True,
              help="Output folder (PNG files named after the inputs), or with one input image a file name "
                   "(.png, .jpg, .bmp, .tif).")
@click.option("--model", "-m", "model_name", default=None,
              help="A model name (see `edgesr models`), package.module:factory or path/to/file.py:factory.")
@click.option("--artifact", "-a", type=click.Path(path_type=Path), default=None)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None,
              help="Where an onnx artifact or a model runs.")
@click.option("--scale", "-s", type=SCALE, default=None,
              help="Required with a model or an artifact that serves several scales.")
@click.option("--weights", "-w", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--tile", type=click.IntRange(8), default=None,
              help="Upscale in NxN pieces of the LR image (with the context each needs): bounded memory, same "
                   "result [default: whole images, or pieces sized to the memory available for large ones].")
@click.option("--threads", type=click.IntRange(0), default=0, show_default=True,
              help="CPU threads of the runtime (PyTorch, ONNX Runtime, LiteRT, OpenVINO, ExecuTorch) [0: every core "
                   "of this machine].")
def upscale_cmd(inputs: tuple[Path, ...], out: Path, model_name: str | None, artifact: Path | None,
                device: str | None, scale: int | None, weights: Path | None, tile: int | None, threads: int) -> None:
    """Upscale images (files or folders) with a model or an artifact. Inputs are never replaced; a
    bad image is reported and skipped (exit code 1 at the end)."""
    from edgesr._files import check_writable
    from edgesr.api.running import open_runner
    from edgesr.api.sources import UPSCALE_PIECE_BYTES
    from edgesr.data.batch import run_batch
    from edgesr.data.io import read_image, write_image
    from edgesr.inference import upscale

    model_name = model_named(model_name, weights, artifact)
    if (model_name is None) == (artifact is None):
        raise click.UsageError("give exactly one of --model and --artifact (or --weights from edgesr train)")
    pairs, as_file = _plan(inputs, out)
    runner = open_runner(artifact or model_name, scale, device=device, tile=tile, weights=weights,
                         kind="artifact" if artifact else "model", threads=_threads(threads, artifact))
    runner.memory_budget = UPSCALE_PIECE_BYTES  # without --tile: pieces of about this much, whatever the photo
    check_writable(out.parent if as_file else out)
    one = len(pairs) == 1

    with runner, click.progressbar(length=len(pairs), label="upscaling", file=sys.stderr,
                                         hidden=one or not sys.stderr.isatty()) as bar:
        def work(src: Path, dst: Path) -> None:
            lr = read_image(src)
            with piece_bar(one) as pieces:
                sr = upscale(runner, lr, progress=pieces, keep_y=False)
            write_image(dst, sr.image)
            bar.update(1)

        result = run_batch(pairs, work, stderr)
    click.echo(f"wrote {len(result.written)} image(s) x{runner.scale} to {out}")
    result.check()


def _threads(threads: int, artifact: Path | None) -> int:
    """--threads as the runner takes it: 0 means every core of this machine, for a runtime that takes
    a thread count (an artifact whose runtime takes none, TensorRT or Core ML, gets 0 unless asked)."""
    from edgesr.runtimes.measure import cpu_count

    if threads or artifact is None:
        return threads or cpu_count()
    from edgesr.formats import get_format
    from edgesr.manifest import read_manifest

    return cpu_count() if get_format(read_manifest(artifact).format).threads else 0


def _image_suffix(path: Path) -> bool:
    """Whether ``path`` names an image file (any format Pillow knows, written or not), not a folder."""
    from PIL import Image

    from edgesr.data.io import IMAGE_SUFFIXES

    suffix = path.suffix.lower()
    return suffix in IMAGE_SUFFIXES or suffix in Image.registered_extensions()


def _plan(inputs: tuple[Path, ...], out: Path) -> tuple[list[tuple[Path, Path]], bool]:
    """(input, output) pairs, and whether ``out`` names one file rather than a folder; what cannot be
    written as asked is a usage error, an output that would replace an input an error."""
    from edgesr.data.batch import check_output, plan_outputs
    from edgesr.data.io import WRITERS, list_images

    files = [f for p in inputs for f in (list_images(p) if p.is_dir() else [p])]
    if not files:
        raise click.UsageError("no images found in the inputs")
    as_file = _image_suffix(out) and not out.is_dir()
    if not as_file:
        return plan_outputs(files, out), False
    if len(files) > 1 or inputs[0].is_dir():
        raise click.UsageError(f"-o {out} names one file, but the inputs hold {len(files)} images; "
                               "give a folder to -o")
    if out.suffix.lower() not in WRITERS:
        raise click.UsageError(f"cannot write {out.suffix} images; name the output "
                               f"{', '.join(sorted(set(WRITERS)))}")
    check_output(out, files)
    return [(files[0], out)], True

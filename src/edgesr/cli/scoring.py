"""``edgesr eval``, ``edgesr compare`` and ``edgesr asymmetrize``: scores on a benchmark set."""

from __future__ import annotations

from pathlib import Path

import click

from edgesr.cli.common import SCALE, OutputPath, data_root_option, is_stdout, model_named

MODEL_HELP = "A model name (see `edgesr models`), package.module:factory or path/to/file.py:factory."


@click.command("eval")
@click.option("--model", "-m", "model_name", default=None, help=MODEL_HELP)
@click.option("--artifact", "-a", type=click.Path(path_type=Path), default=None,
              help="An exported artifact (with its manifest) instead of a model.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default=None,
              help="Where an onnx artifact runs (cuda: ONNX Runtime's CUDA provider) or a model (PyTorch).")
@click.option("--dataset", "-d", required=True, help="Set5, Set14, BSD100 (B100), Urban100, DIV2K, or a folder.")
@click.option("--scale", "-s", type=SCALE, default=None,
              help="Required unless the model or artifact serves one scale.")
@click.option("--weights", "-w", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A .safetensors file (default: the shipped weights).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the means and per-image scores as JSON (-: to stdout, the table to stderr).")
@data_root_option
def eval_cmd(model_name: str | None, artifact: Path | None, device: str | None, dataset: str, scale: int | None,
             weights: Path | None, json_path: Path | None, data_root: Path | None) -> None:
    """PSNR and SSIM (Y, shave = scale) of a model or an artifact on a benchmark set."""
    from edgesr.api.scoring import prepare_evaluation

    model_name = model_named(model_name, weights, artifact)
    if (model_name is None) == (artifact is None):
        raise click.UsageError("give exactly one of --model and --artifact (or --weights from edgesr train)")
    to_stdout = is_stdout(json_path)
    json_file = None if to_stdout else json_path
    if json_file is not None:
        from edgesr._files import check_writable

        check_writable(json_file.parent, "--json")
    plan = prepare_evaluation(artifact or model_name, dataset, scale, weights=weights, device=device,
                              data_root=data_root, kind="artifact" if artifact else "model")
    if json_file is not None:  # before any work: the scores never replace an image, the weights or the artifact
        from edgesr.data.batch import check_output
        from edgesr.manifest import manifest_path

        sources = [artifact, manifest_path(artifact)] if artifact else [weights] if weights else []
        check_output(json_file, [*plan.images.files, *sources])

    def say(line: str) -> None:
        click.echo(line, err=to_stdout)  # with --json -, stdout holds the JSON alone

    say(f"{plan.label} x{plan.scale} on {plan.images.name} ({len(plan.images)} images)")
    say(f"{'image':<24}{'PSNR':>10}{'SSIM':>10}")
    result = plan.run(progress=lambda score: say(f"{score.name:<24}{score.psnr:>10.4f}{score.ssim:>10.4f}"))
    say(f"{'mean':<24}{result.psnr:>10.4f}{result.ssim:>10.4f}")
    if to_stdout:
        click.echo(result.to_json(), nl=False)
    elif json_file is not None:
        result.write_json(json_file)


@click.command("compare")
@click.argument("first")
@click.argument("second")
@click.option("--dataset", "-d", default="Set5", show_default=True)
@click.option("--scale", "-s", type=SCALE, default=None, help="Required when the sides share several scales.")
@click.option("--weights", "-w", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Weights for a model side (default: the shipped weights).")
@data_root_option
def compare_cmd(first: str, second: str, dataset: str, scale: int | None, weights: Path | None,
                data_root: Path | None) -> None:
    """Two artifacts, or a model and an artifact, on the same inputs: largest absolute difference and
    PSNR between their outputs, per image."""
    from edgesr.api.scoring import prepare_comparison

    plan = prepare_comparison(first, second, dataset, scale, weights=weights, data_root=data_root)
    click.echo(f"{first} vs {second}, x{plan.scale} on {plan.images.name}")
    click.echo(f"{'image':<24}{'max |diff|':>12}{'PSNR dB':>10}")
    result = plan.run(progress=lambda row: click.echo(f"{row.name:<24}{row.max_diff:>12}{row.psnr:>10.2f}"))
    click.echo(f"largest absolute difference: {result.worst} (uint8 levels)")


@click.command("asymmetrize")
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("dst", type=OutputPath(dir_okay=False, path_type=Path))
@click.option("--dataset", "-d", default="Set5", show_default=True, help="Set to compare outputs on.")
@click.option("--scale", "-s", type=SCALE, default=2, show_default=True)
@data_root_option
def asymmetrize_cmd(src: Path, dst: Path, dataset: str, scale: int, data_root: Path | None) -> None:
    """Turn trained vdsr weights SRC into asym_vdsr weights DST (truncated SVD) and report how
    close the converted model's output is before fine-tuning."""
    from edgesr._files import check_writable
    from edgesr.data.batch import check_output
    from edgesr.data.datasets import find_images
    from edgesr.evaluation.compare import compare_upscalers
    from edgesr.inference import torch_upscaler
    from edgesr.models.asym import asym_layers
    from edgesr.models.vdsr import vdsr_to_asym
    from edgesr.models.weights import load_model, save_weights

    check_output(dst, [src])  # before any work: the input weights are never replaced
    check_writable(dst.parent, "DST")
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

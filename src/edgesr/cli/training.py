"""``edgesr models`` and ``edgesr train``."""

from __future__ import annotations

from pathlib import Path

import click

from edgesr.cli.common import parse_size


@click.command("models")
@click.option("--size", default="256x256", show_default=True, help="LR input size (HxW) for multiply-adds.")
def models_cmd(size: str) -> None:
    """List the models: colour, scales, parameters and multiply-adds."""
    from edgesr.models.listing import model_table

    click.echo(model_table(parse_size(size, "--size")))


@click.command("train")
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

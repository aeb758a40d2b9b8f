"""What the commands share: option types, the data-root option, parsers of sizes and scales, and
progress on stderr."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click

SCALE = click.IntRange(2, 4)  # every model serves x2, x3 and x4 (degrade takes up to x8)


class OutputPath(click.Path):
    """A path a command writes to: an empty one (``-o ""``, which would mean the working folder) is a
    usage error, not a silent choice."""

    def convert(self, value, param, ctx):
        if isinstance(value, str) and not value.strip():
            self.fail("is empty: name a file or folder to write to (. for the working folder)", param, ctx)
        return super().convert(value, param, ctx)


def data_root_option(f):
    return click.option("--data-root", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Folder holding Set5, Set14, BSD100, ... (default: $EDGESR_DATA).")(f)


def parse_size(text: str, option: str) -> tuple[int, int]:
    """``HxW`` as (H, W); a bad one is the usage error of ``option``."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise click.BadParameter(f"expected HxW such as 256x256, got {text!r}", param_hint=option) from None
    if h < 1 or w < 1:
        raise click.BadParameter(f"sizes must be positive, got {text!r}", param_hint=option)
    return h, w


def parse_scales(text: str, option: str = "--scales") -> tuple[int, ...]:
    """``2,3,4`` as (2, 3, 4)."""
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise click.BadParameter(f"expected scales such as 2,3,4, got {text!r}", param_hint=option) from None


def is_stdout(path: Path | None) -> bool:
    """``-`` given where a file is named: stdout, as Unix tools read it."""
    return path is not None and str(path) == "-"


def names(text: str | None) -> tuple[str, ...] | None:
    """``a,b`` as ("a", "b"); None for no text."""
    return tuple(v.strip() for v in text.split(",") if v.strip()) if text else None


def stderr(line: str) -> None:
    click.echo(line, err=True)


@contextlib.contextmanager
def piece_bar(show: bool):
    """A progress callback ``(done, total)`` drawing a bar of pieces (a large single image only, and
    only on a terminal: in a log or a pipe a bar is a stray label)."""
    state: dict = {}
    show = show and sys.stderr.isatty()

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


def model_named(model_name: str | None, weights: Path | None, artifact: Path | None = None) -> str | None:
    """The model a command runs: ``--model``, else the one a ``--weights`` file written by ``edgesr
    train`` names (files that say what they are load with no other argument)."""
    if model_name is not None or artifact is not None or weights is None:
        return model_name
    from edgesr.models.weights import weights_spec

    return weights_spec(None, weights).ref

"""The ``edgesr`` command line: one thin click command per verb, each calling the Python API
(:mod:`edgesr.api`) or the library; one module per group of commands."""

from __future__ import annotations

import click

from edgesr import __version__
from edgesr.errors import EdgesrError


class _Group(click.Group):
    """Turns every :class:`EdgesrError`, and a file that cannot be read or written, into a
    one-line message and exit code 1 (usage errors, and a scale left out where several are
    served: 2)."""

    def invoke(self, ctx: click.Context):
        from edgesr.api.sources import ScaleNotGiven

        try:
            return super().invoke(ctx)
        except ScaleNotGiven as exc:
            raise click.UsageError(str(exc)) from exc
        except EdgesrError as exc:
            raise click.ClickException(str(exc)) from exc
        except ModuleNotFoundError as exc:  # a torch-free install (edgesr[ort,litert]) asked for a model
            if (exc.name or "").partition(".")[0] != "torch":
                raise
            from edgesr._deps import missing_torch

            raise click.ClickException(str(missing_torch())) from exc
        except BrokenPipeError:  # `edgesr eval ... | head -1`: the reader left; stop quietly, as Unix tools do
            _reader_gone()
        except OSError as exc:  # a blocked, read-only or full output; a missing input
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from exc


# the exit status of a Unix tool killed by SIGPIPE (128 + 13)
EXIT_PIPE = 141


def _reader_gone() -> None:
    """Exit without a word when stdout's reader has closed the pipe: what is left unwritten goes to
    /dev/null (so Python's own flush at exit does not complain either)."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.exit(EXIT_PIPE)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="edgesr")
def main() -> None:
    """edgesr: lightweight super-resolution from training to measured deployment."""


def _add_commands() -> None:
    from edgesr.cli import benching, exporting, images, scoring, serving, training

    for command in (training.models_cmd, images.degrade_cmd, scoring.eval_cmd, exporting.export_cmd,
                    images.upscale_cmd, benching.bench_cmd, scoring.compare_cmd, training.train_cmd,
                    scoring.asymmetrize_cmd, exporting.info_cmd, serving.serve_cmd):
        main.add_command(command)


_add_commands()

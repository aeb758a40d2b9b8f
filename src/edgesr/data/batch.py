"""Many images in, one output each: the rules every batch command follows.

* Outputs are planned before any work: no output may be an input, two inputs may not share an
  output (``x.jpg`` and ``x.png`` both giving ``x.png``), and a folder of outputs may not be a folder
  of inputs. The output folder is checked for writing (``edgesr._files.check_writable``) before the
  first image is processed.
* One bad image does not stop the batch: every other image is still written (each atomically), the
  failures are reported as they happen and, at the end, in one :class:`BatchError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from edgesr.errors import DataError, EdgesrError


class BatchError(EdgesrError):
    """Some images of a batch failed; the others were written."""


def plan_outputs(files: Iterable[Path], folder: Path, suffix: str = ".png") -> list[tuple[Path, Path]]:
    """(input, output) pairs writing ``stem + suffix`` into ``folder``, refused when an output
    would overwrite an input, two inputs would share an output, or ``folder`` holds inputs."""
    files = list(files)
    check_folder(folder, files)
    pairs, taken = [], {}
    for f in files:
        out = folder / f"{f.stem}{suffix}"
        if out.resolve() in taken:
            raise DataError(f"{taken[out.resolve()]} and {f} would both be written to {out}; "
                            "rename one of them or process them into separate folders")
        taken[out.resolve()] = f
        pairs.append((f, out))
    return pairs


def check_folder(folder: Path, inputs: Iterable[Path], what: str = "images") -> None:
    """Refuse an output folder that holds any of the inputs (outputs there would replace or mix with them)."""
    target = folder.resolve()
    if any(f.resolve().parent == target for f in inputs):
        raise DataError(f"the output folder {folder} holds input {what}; write the outputs to another folder "
                        "so that no input is replaced or mixed with the results")


def check_output(path: Path, inputs: Iterable[Path]) -> None:
    """Refuse an output file that is one of the inputs."""
    if path.resolve() in {f.resolve() for f in inputs}:
        raise DataError(f"{path} is an input; writing to it would replace the original: choose another output name")


@dataclass
class BatchResult:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    def check(self, what: str = "images") -> None:
        """Raise :class:`BatchError` naming the failed inputs, if any."""
        if self.failed:
            total = len(self.failed) + len(self.written)
            names = ", ".join(p.name for p, _ in self.failed[:5]) + (" ..." if len(self.failed) > 5 else "")
            raise BatchError(f"{len(self.failed)} of {total} {what} failed ({names}; reasons above); "
                             f"the other {len(self.written)} were written")


def run_batch(pairs: list[tuple[Path, Path]], work: Callable[[Path, Path], None],
              report: Callable[[str], None] = lambda _: None) -> BatchResult:
    """Call ``work(src, dst)`` for each pair, going on past any :class:`EdgesrError` or ``OSError``
    (each reported through ``report``). One pair alone is not a batch: its error is raised as the
    command's one line, naming the input (nothing was written, nothing goes on)."""
    if len(pairs) == 1:
        src, dst = pairs[0]
        try:
            work(src, dst)
        except OSError as exc:
            raise DataError(f"{src}: {exc.strerror or exc}") from None
        except EdgesrError as exc:
            if str(src) in str(exc) or src.name in str(exc):
                raise
            raise DataError(f"{src}: {exc}") from None
        return BatchResult(written=[dst])
    result = BatchResult()
    for src, dst in pairs:
        try:
            work(src, dst)
        except (EdgesrError, OSError) as exc:
            result.failed.append((src, str(exc)))
            report(f"failed: {src}: {exc}")
        else:
            result.written.append(dst)
    return result

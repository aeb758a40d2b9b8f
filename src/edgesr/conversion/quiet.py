"""Converters talk: litert-torch prints pages to stdout, torch, torchao, absl and coremltools warn in
words that read like failures. ``step`` runs one step of an export with all of it held back: the
process's stdout and stderr at the file-descriptor level (``os.dup2`` into a temporary file, so
what C++ code prints is caught too), Python's ``sys.stdout``/``sys.stderr``, warnings, and the
logging handlers that write to the terminal. The held text is shown only when the step fails
(printed to stderr before the error travels on) or, with ``verbose``, not held at all.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
import time
import warnings
from typing import Callable, Iterator

SHOWN_LINES = 80  # the last lines of a failed step's output that are printed (the rest is counted)


class Held:
    """What a :func:`hold` block wrote (``text`` once the block has ended)."""

    text: str = ""


def _file_id(stream) -> tuple[int, int] | None:
    try:
        st = os.fstat(stream if isinstance(stream, int) else stream.fileno())
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    return st.st_dev, st.st_ino


def _terminal_handlers(streams: tuple) -> list[logging.StreamHandler]:
    """Logging handlers (absl's included) that write to the terminal: to one of ``streams``, or to
    the file that stdout or stderr is (a handler made while another stream stood in for stderr)."""
    terminal = {i for i in (_file_id(1), _file_id(2)) if i is not None}
    loggers = [logging.getLogger()] + [v for v in logging.Logger.manager.loggerDict.values()
                                       if isinstance(v, logging.Logger)]
    found = []
    for logger in loggers:
        for handler in logger.handlers:
            inner = getattr(handler, "python_handler", None)  # absl's ABSLHandler wraps a StreamHandler
            for h in (handler, inner):
                if (isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)
                        and h not in found and (any(h.stream is s for s in streams) or _file_id(h.stream) in terminal)):
                    found.append(h)
    return found


@contextlib.contextmanager
def hold() -> Iterator[Held]:
    """Hold back everything the block writes to the terminal; ``Held.text`` has it afterwards."""
    held = Held()
    with tempfile.TemporaryFile() as sink:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()
        old_streams = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
        terminal_handlers = _terminal_handlers(old_streams)  # while fds 1 and 2 are still the terminal
        saved = {}
        for fd in (1, 2):
            try:
                saved[fd] = os.dup(fd)
                os.dup2(sink.fileno(), fd)
            except OSError:  # no such descriptor (a daemon): Python's streams are still held
                saved.pop(fd, None)
        text = io.TextIOWrapper(os.fdopen(os.dup(sink.fileno()), "wb"), encoding="utf-8", errors="replace",
                                line_buffering=True)
        handlers = [(h, h.setStream(text)) for h in terminal_handlers]
        old_out, old_err = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = text
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("default")
                yield held
        finally:
            sys.stdout, sys.stderr = old_out, old_err
            for handler, stream in handlers:
                handler.setStream(stream)
            for w in caught:
                text.write(warnings.formatwarning(w.message, w.category, w.filename, w.lineno, w.line))
            text.flush()
            text.close()
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)
            sink.seek(0)
            held.text = sink.read().decode("utf-8", errors="replace")


def show(text: str, title: str, stream=None) -> None:
    """Print a held step's output (its last ``SHOWN_LINES`` lines) under ``title``."""
    stream = stream or sys.stderr
    lines = text.rstrip().splitlines()
    if not lines:
        return
    cut = max(0, len(lines) - SHOWN_LINES)
    stream.write(f"--- {title} ---\n" + (f"[{cut} earlier lines left out]\n" if cut else "")
                 + "\n".join(lines[cut:]) + "\n--- end of that output ---\n")
    stream.flush()


@contextlib.contextmanager
def step(what: str, log: Callable[[str], None] | None = None, verbose: bool = False) -> Iterator[None]:
    """Run one step of an export: report ``what...`` when it starts and its seconds when it ends
    (through ``log``), and hold its output back unless ``verbose``; when it fails the held output
    is printed to stderr before the error travels on."""
    if log:
        log(f"{what}...")
    start = time.perf_counter()
    if verbose:
        yield
    else:
        held = None
        try:
            with hold() as held:
                yield
        except BaseException as exc:
            if held is not None and held.text.strip():
                show(held.text, f"output of the failed step: {what}")
                with contextlib.suppress(Exception):
                    exc.held_output = held.text  # so the error can say it was printed
            raise
    if log:
        log(f"{what}: done in {time.perf_counter() - start:.1f} s")

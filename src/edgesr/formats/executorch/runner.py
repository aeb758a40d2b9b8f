"""Runs an ExecuTorch (.pte) artifact with ExecuTorch's Python runtime (``executorch.runtime``) and
its XNNPACK delegate on the CPU.

The program has a fixed input size: other sizes run as overlapping tiles. A shared-trunk program
holds one method per scale; ``switch`` loads the other scale's method. ExecuTorch's Python runtime
takes and gives torch tensors (its bindings link PyTorch), so this runner needs torch where the
others need numpy alone.

Threads: XNNPACK's work runs on ExecuTorch's one threadpool per process; ``threads`` resizes it
(``executorch.extension.pybindings.portable_lib._unsafe_reset_threadpool``) before the methods
are loaded, 0 giving every core this process may use. The pool is the process's: runners opened
later with another count resize it for every runner.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgesr.formats.base import get_format
from edgesr.runtimes.base import ArtifactRunner, cannot_load
from edgesr.runtimes.measure import cpu_count

METHOD = "forward"  # the method of a single-scale program


def set_threads(threads: int = 0) -> int:
    """Size ExecuTorch's threadpool (0: every core); returns the count it has now."""
    from executorch.extension.pybindings import portable_lib

    want = threads or cpu_count()
    if portable_lib._threadpool_get_thread_count() != want:
        portable_lib._unsafe_reset_threadpool(want)
    return int(portable_lib._threadpool_get_thread_count())


class ExecuTorchRunner(ArtifactRunner):
    name = "executorch"

    def __init__(self, artifact: Path, manifest, scale: int, threads: int = 0, tile: tuple[int, int] | None = None):
        """The network runs at the artifact's own input size; ``tile`` sizes the image pipeline's pieces."""
        head = manifest.head(scale)
        super().__init__(artifact, manifest, scale, tile=tile, fixed=(head.input.height, head.input.width))
        self.threads = threads
        self.thread_count = 0  # the threadpool's size once active
        self.program = None
        self._methods: dict[str, object] = {}

    @staticmethod
    def available() -> str | None:
        """"executorch VERSION" where its runtime is installed, else None."""
        import importlib.util
        from importlib.metadata import version

        if importlib.util.find_spec("executorch") is None or importlib.util.find_spec("executorch.runtime") is None:
            return None
        return f"executorch {version('executorch')}"

    def activate(self) -> None:
        runtime = get_format(self.manifest.format).require()
        from importlib.metadata import version

        self.thread_count = set_threads(self.threads)
        try:  # a corrupt file is a RuntimeError from the program or method loader
            self.program = runtime.Runtime.get().load_program(str(self.artifact))
            self._methods = {}
            self._select(self.head)
        except Exception as exc:
            self.program, self._methods = None, {}
            raise cannot_load(self.artifact, exc) from exc
        self.runtime_version = f"executorch {version('executorch')}"
        super().activate()

    def _select(self, head) -> None:
        """Load ``head``'s method (a shared-trunk program), or the program's ``forward``."""
        entry = head.entry or METHOD
        if entry not in self._methods:
            self._methods[entry] = self.program.load_method(entry)

    def deactivate(self) -> None:
        self.program, self._methods = None, {}
        super().deactivate()

    def _call(self, entry: str, feeds: dict[str, np.ndarray], output: str) -> np.ndarray:
        """The one place a method is executed (the device harness records and replays here)."""
        import torch

        entry = entry or METHOD
        if entry not in self._methods:
            self._methods[entry] = self.program.load_method(entry)
        (x,) = feeds.values()
        out = self._methods[entry].execute([torch.from_numpy(x)])[0]
        return out.numpy() if hasattr(out, "numpy") else np.asarray(out)

    def _run(self, x: np.ndarray) -> np.ndarray:
        spec_in, spec_out = self.head.input, self.head.output
        outs = [self._call(self.head.entry, {spec_in.name: np.ascontiguousarray(item[None])}, spec_out.name)
                for item in x]  # the program has batch 1
        return np.concatenate(outs).astype(np.float32, copy=False)

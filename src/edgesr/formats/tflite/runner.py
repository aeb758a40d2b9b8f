"""Runs a LiteRT (.tflite) artifact with a LiteRT interpreter (XNNPACK on CPU): ai-edge-litert's,
else the older tflite-runtime many boards carry, else TensorFlow's.

The network contract stays NCHW float on [0, 1]; the manifest says how the artifact differs
(NHWC; int8, or uint8 with ``--io uint8``, with scale and zero point) and this runner converts at
the boundary."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import numpy as np

from edgesr.errors import ArtifactError, MissingDependencyError
from edgesr.formats.base import FORMATS
from edgesr.runtimes.base import ArtifactRunner, cannot_load

INTERPRETERS = ("ai_edge_litert", "tflite_runtime", "tensorflow")  # in the order they are looked for


def find_interpreter(prefer: str = "auto") -> tuple[type, str]:
    """(Interpreter class, "module version") of the first interpreter of ``INTERPRETERS`` installed,
    or of ``prefer``."""
    if prefer != "auto" and prefer not in INTERPRETERS:
        raise ArtifactError(f"unknown LiteRT interpreter {prefer!r}; one of {', '.join(INTERPRETERS)}")
    for name in INTERPRETERS if prefer == "auto" else (prefer,):
        try:
            if name == "tensorflow":
                module = importlib.import_module("tensorflow")
                cls = module.lite.Interpreter
            else:
                cls = importlib.import_module(name + ".interpreter").Interpreter
                module = sys.modules[name]
        except ImportError:
            continue
        return cls, f"{name} {getattr(module, '__version__', '?')}"
    format_ = next(b for b in FORMATS.values() if b.runtime == LiteRTRunner.name)
    raise MissingDependencyError(f"no LiteRT interpreter is installed ({', '.join(INTERPRETERS)}); install it with: "
                                 f"{format_.runtime_install_hint}, or where edgesr is not installed: {format_.remote_install}")


class LiteRTRunner(ArtifactRunner):
    name = "litert"

    def __init__(self, artifact: Path, manifest, scale: int, threads: int = 0, tile: tuple[int, int] | None = None,
                 interpreter: str = "auto"):
        """The network runs at the artifact's own input size; ``tile`` sizes the image pipeline's
        pieces. ``interpreter``: one of ``INTERPRETERS``, or the first installed."""
        head = manifest.head(scale)
        super().__init__(artifact, manifest, scale, tile=tile, fixed=(head.input.height, head.input.width))
        self.threads, self.prefer = threads, interpreter
        self.interpreter = None
        self._signatures: dict[str, object] = {}
        self._plain: tuple[int, int] | None = None

    @staticmethod
    def available() -> str | None:
        """"module version" of the interpreter found here, else None."""
        try:
            return find_interpreter()[1]
        except MissingDependencyError:
            return None

    def activate(self) -> None:
        cls, self.runtime_version = find_interpreter(self.prefer)
        try:  # a corrupt file is a ValueError or RuntimeError from the flatbuffer reader or the allocator
            self.interpreter = cls(model_path=str(self.artifact), num_threads=self.threads or os.cpu_count() or 1)
            self._signatures, self._plain = {}, None
            self._select(self.head)
        except Exception as exc:
            self.interpreter = None
            raise self._explain(exc) from exc
        super().activate()

    def _select(self, head) -> None:
        """Prepare ``head``'s signature (a shared-trunk artifact) or the plain graph."""
        if head.entry:
            if head.entry not in self._signatures:
                self._signatures[head.entry] = self.interpreter.get_signature_runner(head.entry)
        elif self._plain is None:
            self.interpreter.allocate_tensors()
            self._plain = (self.interpreter.get_input_details()[0]["index"],
                           self.interpreter.get_output_details()[0]["index"])

    def deactivate(self) -> None:
        self.interpreter, self._signatures, self._plain = None, {}, None
        super().deactivate()

    def _explain(self, exc: BaseException) -> Exception:
        """The one-line error for what the interpreter refused."""
        if isinstance(exc, RuntimeError) and "failed to prepare" in str(exc):
            # older interpreters (tflite-runtime 2.14) cannot requantize int8 to int16
            last = str(exc).strip().splitlines()[-1]
            return ArtifactError(f"{self.runtime_version} cannot run {self.artifact.name} ({last}); an INT8 artifact "
                                 "with 16-bit parts needs a runtime whose QUANTIZE turns int8 into int16 "
                                 "(ai-edge-litert): export it with --pure-int8 for this one")
        return cannot_load(self.artifact, exc) if not isinstance(exc, ArtifactError) else exc

    def _call(self, entry: str, feeds: dict[str, np.ndarray], output: str) -> np.ndarray:
        """The one place the interpreter is touched (the device harness records and replays here)."""
        try:
            if entry:
                if entry not in self._signatures:
                    self._signatures[entry] = self.interpreter.get_signature_runner(entry)
                return self._signatures[entry](**feeds)[output]
            self.interpreter.set_tensor(self._plain[0], next(iter(feeds.values())))
            self.interpreter.invoke()
            return self.interpreter.get_tensor(self._plain[1])
        except RuntimeError as exc:
            if "failed to prepare" not in str(exc):
                raise
            raise self._explain(exc) from exc

    def _run(self, x: np.ndarray) -> np.ndarray:
        spec_in, spec_out = self.head.input, self.head.output
        outs = []
        for item in x:  # the artifact has batch 1
            a = item.transpose(1, 2, 0)[None]
            if spec_in.quantization:
                s, z = spec_in.quantization
                info = np.iinfo(spec_in.dtype)
                a = np.clip(np.round(a / s) + z, info.min, info.max).astype(spec_in.dtype)
            y = self._call(self.head.entry, {spec_in.name: np.ascontiguousarray(a.astype(spec_in.dtype, copy=False))},
                           spec_out.name)
            if spec_out.quantization:
                s, z = spec_out.quantization
                y = (y.astype(np.float32) - z) * s
            outs.append(y[0].transpose(2, 0, 1))
        return np.stack(outs).astype(np.float32)

"""Runs a LiteRT (.tflite) artifact with the ai-edge-litert interpreter (XNNPACK on CPU).

The network contract stays NCHW float on [0, 1]; the manifest says how the artifact differs
(NHWC, int8 with scale and zero point) and this runner converts at the boundary."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgesr._deps import require
from edgesr.export.manifest import Manifest
from edgesr.runtimes.base import Runner
from edgesr.runtimes.registry import cannot_load


class LiteRTRunner(Runner):
    name = "litert"

    def __init__(self, artifact: Path, manifest: Manifest, scale: int, threads: int = 0):
        self.head = manifest.head(scale)
        fixed = (self.head.input.height, self.head.input.width)
        super().__init__(manifest.spec(), scale, tile=fixed, overlap=manifest.receptive_radius or 0, fixed=True)
        self.artifact, self.manifest = Path(artifact), manifest
        self.threads = threads
        self.interpreter = None
        self._signature = None

    def activate(self) -> None:
        require("ai_edge_litert", "tflite", "ai-edge-litert")
        import os

        from ai_edge_litert.interpreter import Interpreter

        try:  # a corrupt file is a ValueError or RuntimeError from the flatbuffer reader or the allocator
            self.interpreter = Interpreter(model_path=str(self.artifact),
                                           num_threads=self.threads or os.cpu_count() or 1)
            self._signature = None
            if self.head.entry:  # a shared-trunk artifact: this scale's signature
                self._signature = self.interpreter.get_signature_runner(self.head.entry)
            else:
                self.interpreter.allocate_tensors()
                self._in = self.interpreter.get_input_details()[0]["index"]
                self._out = self.interpreter.get_output_details()[0]["index"]
        except Exception as exc:
            self.interpreter = self._signature = None
            raise cannot_load(self.artifact, exc) from exc
        super().activate()

    def switch(self, scale: int) -> None:
        if not self.manifest.heads:
            super().switch(scale)
        self._set_scale(scale, self.manifest.scales)
        self.head = self.manifest.head(scale)  # another signature of the same interpreter
        if self.interpreter is not None:
            self._signature = self.interpreter.get_signature_runner(self.head.entry)

    def deactivate(self) -> None:
        self.interpreter = self._signature = None
        super().deactivate()

    def _call(self, entry: str, feeds: dict[str, np.ndarray], output: str) -> np.ndarray:
        """The one place the interpreter is touched (the device harness records and replays here)."""
        if entry:
            return self._signature(**feeds)[output]
        self.interpreter.set_tensor(self._in, next(iter(feeds.values())))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._out)

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

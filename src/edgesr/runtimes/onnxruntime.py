"""Runs an ONNX artifact with ONNX Runtime (CPU by default)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgesr._deps import require
from edgesr.export.manifest import Manifest
from edgesr.runtimes.base import Runner


class OnnxRuntimeRunner(Runner):
    name = "onnxruntime"

    def __init__(self, artifact: Path, manifest: Manifest, scale: int, threads: int = 0,
                 providers: tuple[str, ...] = ("CPUExecutionProvider",), tile: tuple[int, int] | None = None):
        fixed = (manifest.input.height, manifest.input.width) if manifest.input.height else None
        super().__init__(manifest.spec(), scale, tile=fixed or tile, overlap=manifest.receptive_radius or 0,
                         fixed=fixed is not None)
        self.artifact, self.manifest = Path(artifact), manifest
        self.bytes_per_pixel = manifest.activation_bytes_per_pixel
        self.threads, self.providers = threads, providers
        self.session = None

    def activate(self) -> None:
        ort = require("onnxruntime", "onnx")
        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(self.artifact), options, providers=list(self.providers))
        super().activate()

    def deactivate(self) -> None:
        self.session = None
        super().deactivate()

    def _run(self, x: np.ndarray) -> np.ndarray:
        return self.session.run([self.manifest.output.name], {self.manifest.input.name: x})[0]

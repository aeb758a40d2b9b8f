"""Runs a Core ML package with coremltools' predict, which exists only on macOS.

Elsewhere the runner refuses to start with the reason; the export's checks of the package itself
(:func:`edgesr.export.coreml.describe`) still run."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from edgesr._deps import require
from edgesr.errors import ArtifactError
from edgesr.export.manifest import Manifest
from edgesr.runtimes.base import Runner
from edgesr.runtimes.registry import cannot_load

COMPUTE_UNITS = ("ALL", "CPU_ONLY", "CPU_AND_GPU", "CPU_AND_NE")


class CoreMLRunner(Runner):
    name = "coreml"

    def __init__(self, artifact: Path, manifest: Manifest, scale: int, compute_units: str = "ALL"):
        self.head = manifest.head(scale)
        spec = self.head.input
        fixed = (spec.height, spec.width) if spec.height else max(spec.sizes, key=lambda s: s[0] * s[1])
        super().__init__(manifest.spec(), scale, tile=fixed, overlap=manifest.receptive_radius or 0, fixed=True)
        if compute_units not in COMPUTE_UNITS:
            raise ArtifactError(f"compute_units must be one of {', '.join(COMPUTE_UNITS)}, got {compute_units!r}")
        self.artifact, self.manifest, self.compute_units = Path(artifact), manifest, compute_units
        self.model = None

    def activate(self) -> None:
        if sys.platform != "darwin":
            raise ArtifactError(f"{self.artifact.name}: Core ML models run only on macOS (this is {sys.platform}); "
                                "run it on a Mac, or export onnx or tflite to run here")
        ct = require("coremltools", "coreml")
        kwargs = {"function_name": self.head.entry} if self.head.entry else {}
        try:
            self.model = ct.models.MLModel(str(self.artifact),
                                           compute_units=getattr(ct.ComputeUnit, self.compute_units), **kwargs)
        except Exception as exc:  # a damaged package: coremltools' own errors, not edgesr's
            raise cannot_load(self.artifact, exc) from exc
        super().activate()

    def deactivate(self) -> None:
        self.model = None
        super().deactivate()

    def _run(self, x: np.ndarray) -> np.ndarray:
        name_in, name_out = self.head.input.name, self.head.output.name
        return np.concatenate([self.model.predict({name_in: item[None]})[name_out] for item in x])

"""Runs a Core ML package with coremltools' predict, which exists only on macOS.

Elsewhere the runner refuses to start with the reason; the export's checks of the package itself
(:func:`edgesr.export.coreml.describe`) still run. A multifunction package (one function per scale
of a shared-trunk export) serves every scale: ``switch`` loads the other scale's function."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from edgesr.backends import get_backend
from edgesr.errors import ArtifactError
from edgesr.runtimes.base import ArtifactRunner, cannot_load

COMPUTE_UNITS = ("ALL", "CPU_ONLY", "CPU_AND_GPU", "CPU_AND_NE")


class CoreMLRunner(ArtifactRunner):
    name = "coreml"

    def __init__(self, artifact: Path, manifest, scale: int, compute_units: str = "ALL",
                 tile: tuple[int, int] | None = None):
        """The network runs at the package's input size (the largest of enumerated ones); ``tile``
        sizes the image pipeline's pieces."""
        spec = manifest.head(scale).input
        fixed = (spec.height, spec.width) if spec.height else max(spec.sizes, key=lambda s: s[0] * s[1])
        super().__init__(artifact, manifest, scale, tile=tile, fixed=fixed)
        if compute_units not in COMPUTE_UNITS:
            raise ArtifactError(f"compute_units must be one of {', '.join(COMPUTE_UNITS)}, got {compute_units!r}")
        self.compute_units = compute_units
        self.models: dict[str, object] = {}  # loaded functions, by entry ("" for a single-function package)

    def activate(self) -> None:
        backend = get_backend(self.manifest.format)
        if not backend.runs_here:
            raise ArtifactError(f"{self.artifact.name}: Core ML models run only on macOS (this is {sys.platform}); "
                                "run it on a Mac, or export onnx or tflite to run here")
        ct = backend.require("coremltools")
        self.runtime_version = f"coremltools {ct.__version__}"
        self.models = {}
        self._select(self.head)
        super().activate()

    def _select(self, head) -> None:
        """Load ``head``'s function of the package, once (functions share the package's weights)."""
        if head.entry in self.models:
            return
        ct = get_backend(self.manifest.format).require("coremltools")
        kwargs = {"function_name": head.entry} if head.entry else {}
        try:
            self.models[head.entry] = ct.models.MLModel(str(self.artifact),
                                                        compute_units=getattr(ct.ComputeUnit, self.compute_units),
                                                        **kwargs)
        except Exception as exc:  # a damaged package: coremltools' own errors, not edgesr's
            raise cannot_load(self.artifact, exc) from exc

    def deactivate(self) -> None:
        self.models = {}
        super().deactivate()

    @property
    def model(self):
        """The Core ML model of the scale served (None while inactive)."""
        return self.models.get(self.head.entry)

    def _call(self, entry: str, feeds: dict[str, np.ndarray], output: str) -> np.ndarray:
        return self.models[entry].predict(feeds)[output]

    def _run(self, x: np.ndarray) -> np.ndarray:
        name_in, name_out = self.head.input.name, self.head.output.name
        return np.concatenate([self._call(self.head.entry, {name_in: item[None]}, name_out) for item in x])

"""Runs a Core ML package with coremltools' predict, which exists only on macOS.

Elsewhere the runner refuses to start with the reason; the export's checks of the package itself
(:func:`edgesr.formats.coreml.export.describe`) still run. A multifunction package (one function per scale
of a shared-trunk export) serves every scale: ``switch`` loads the other scale's function.

A package exported with ``--io image`` (``manifest.io == "image"``) takes and gives images: the
runner makes PIL images of its [0, 1] float tensors (RGB: ``x * 255`` rounded to 8 bits; Y: a
32-bit float ``F`` image of ``x * 255``, which Core ML reads as 16-bit float grayscale) and turns the
output image back into floats (``/ 255``)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from edgesr.errors import ArtifactError
from edgesr.formats.base import get_format
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
        format_ = get_format(self.manifest.format)
        if not format_.runs_here:
            raise ArtifactError(f"{self.artifact.name}: Core ML models run only on macOS (this is {sys.platform}); "
                                "run it on a Mac, or export onnx or tflite to run here")
        ct = format_.require("coremltools")
        self.runtime_version = f"coremltools {ct.__version__}"
        self.models = {}
        self._select(self.head)
        super().activate()

    def _select(self, head) -> None:
        """Load ``head``'s function of the package, once (functions share the package's weights)."""
        if head.entry in self.models:
            return
        ct = get_format(self.manifest.format).require("coremltools")
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
        if self.manifest.io != "image":
            return self.models[entry].predict(feeds)[output]
        got = self.models[entry].predict({name: to_image(x) for name, x in feeds.items()})[output]
        return from_image(got)

    def _run(self, x: np.ndarray) -> np.ndarray:
        name_in, name_out = self.head.input.name, self.head.output.name
        return np.concatenate([self._call(self.head.entry, {name_in: item[None]}, name_out) for item in x])


def to_image(x: np.ndarray):
    """A 1 x C x H x W float array on [0, 1] as the PIL image a Core ML image input takes: 8-bit RGB
    (rounded), or a float ``F`` image of pixels 0-255 for one channel (16-bit float grayscale)."""
    from PIL import Image

    pixels = np.asarray(x, dtype=np.float32)[0] * 255.0
    if pixels.shape[0] == 3:
        return Image.fromarray(np.clip(np.round(pixels), 0, 255).astype(np.uint8).transpose(1, 2, 0))
    if pixels.shape[0] == 1:
        return Image.fromarray(np.ascontiguousarray(pixels[0]))  # float32: mode F
    raise ArtifactError(f"a Core ML image holds 1 or 3 channels, not {pixels.shape[0]}")


def from_image(image) -> np.ndarray:
    """A Core ML output image (PIL: RGB, RGBA or F, pixels 0-255) as 1 x C x H x W float32 on [0, 1]."""
    if getattr(image, "mode", None) not in (None, "RGB", "F", "L"):
        image = image.convert("RGB")
    pixels = np.asarray(image, dtype=np.float32)
    pixels = pixels[None] if pixels.ndim == 2 else pixels.transpose(2, 0, 1)
    return pixels[None] / 255.0

"""Which runner executes an artifact: looked up from its manifest's format."""

from __future__ import annotations

import os
from pathlib import Path

from edgesr.errors import ArtifactError, ScaleError
from edgesr.export.formats import get_format
from edgesr.export.manifest import read_manifest
from edgesr.runtimes.base import Runner


def _onnxruntime(artifact, manifest, scale, **kw):
    from edgesr.runtimes.onnxruntime import OnnxRuntimeRunner
    return OnnxRuntimeRunner(artifact, manifest, scale, **kw)


def _litert(artifact, manifest, scale, **kw):
    from edgesr.runtimes.litert import LiteRTRunner
    kw.pop("tile", None)  # fixed-shape: it always tiles at its own size
    return LiteRTRunner(artifact, manifest, scale, **kw)


def _coreml(artifact, manifest, scale, **kw):
    from edgesr.runtimes.coreml import CoreMLRunner
    kw.pop("tile", None)  # fixed-shape: it always tiles at its own size
    return CoreMLRunner(artifact, manifest, scale, **kw)


def _tensorrt(artifact, manifest, scale, **kw):
    from edgesr.runtimes.tensorrt import TensorRTRunner
    return TensorRTRunner(artifact, manifest, scale, **kw)


RUNNERS = {"onnxruntime": _onnxruntime, "litert": _litert, "coreml": _coreml, "tensorrt": _tensorrt}


def open_runner(artifact: str | os.PathLike, scale: int | None = None, device: str | None = None,
                **kwargs) -> Runner:
    """A runner for ``artifact`` (checked against its manifest); use it as a context manager.
    ``device`` ("cpu" or "cuda") applies to ONNX artifacts; the others run where their runtime does."""
    artifact = Path(artifact)
    manifest = read_manifest(artifact)
    runtime = get_format(manifest.format).runtime
    if device is not None and runtime == "onnxruntime":
        kwargs["device"] = device
    elif device not in (None, "cuda" if runtime == "tensorrt" else "cpu"):
        raise ArtifactError(f"{artifact.name}: a {manifest.format} artifact does not take device={device!r}; "
                            "device cuda is for onnx (ONNX Runtime CUDA) and tensorrt artifacts")
    if scale is None:
        scale = manifest.scales[0]
    if scale not in manifest.scales:
        raise ScaleError(f"{artifact.name} serves {', '.join(f'x{s}' for s in manifest.scales)}, not x{scale}")
    return RUNNERS[runtime](artifact, manifest, scale, **kwargs)

"""Which runner executes an artifact: looked up from its manifest's format."""

from __future__ import annotations

import os
from pathlib import Path

from edgesr.errors import ScaleError
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


RUNNERS = {"onnxruntime": _onnxruntime, "litert": _litert}


def open_runner(artifact: str | os.PathLike, scale: int | None = None, **kwargs) -> Runner:
    """A runner for ``artifact`` (checked against its manifest); use it as a context manager."""
    artifact = Path(artifact)
    manifest = read_manifest(artifact)
    if scale is None:
        scale = manifest.scales[0]
    if scale not in manifest.scales:
        raise ScaleError(f"{artifact.name} serves {', '.join(f'x{s}' for s in manifest.scales)}, not x{scale}")
    return RUNNERS[get_format(manifest.format).runtime](artifact, manifest, scale, **kwargs)

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
    tile = kw.pop("tile", None)  # fixed-shape: the network runs at its own size; tile= sizes infer()'s pieces
    runner = LiteRTRunner(artifact, manifest, scale, **kw)
    runner.image_tile = tuple(tile) if tile else None
    return runner


def _coreml(artifact, manifest, scale, **kw):
    from edgesr.runtimes.coreml import CoreMLRunner
    tile = kw.pop("tile", None)  # fixed-shape: the network runs at its own size; tile= sizes infer()'s pieces
    runner = CoreMLRunner(artifact, manifest, scale, **kw)
    runner.image_tile = tuple(tile) if tile else None
    return runner


def _tensorrt(artifact, manifest, scale, **kw):
    from edgesr.runtimes.tensorrt import TensorRTRunner
    return TensorRTRunner(artifact, manifest, scale, **kw)


def first_line(exc: BaseException) -> str:
    """The first non-empty line of an exception's message (runtimes' errors run to pages)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def cannot_load(artifact: Path, exc: BaseException) -> ArtifactError:
    """The one-line error for an artifact its runtime cannot load (corrupt, truncated, another file)."""
    return ArtifactError(f"cannot load {artifact}: {first_line(exc)}; re-export it")


# the reasons edgesr export gives for a check skipped on purpose: --no-check, or a runtime that
# does not run where the export ran (Core ML off macOS, TensorRT without a GPU)
SKIPPED_ON_PURPOSE = ("not asked for", "does not run here")


def _require_check(artifact: Path, check: dict) -> None:
    """Refuse an artifact whose export did not check it: an empty ``check`` (the export stopped
    before its check ended), or one skipped for want of data (no data root, no check set)."""
    if "dpsnr" in check:
        return
    skipped = str(check.get("skipped", ""))
    if skipped and any(reason in skipped for reason in SKIPPED_ON_PURPOSE):
        return
    why = (f"its check was skipped: {skipped}" if skipped else
           "its manifest's check is empty: the export did not finish")
    raise ArtifactError(f"{artifact} was not checked against PyTorch when it was exported ({why}); re-export it "
                        "with edgesr export (with --no-check to skip the check on purpose)")


RUNNERS = {"onnxruntime": _onnxruntime, "litert": _litert, "coreml": _coreml, "tensorrt": _tensorrt}


def open_runner(artifact: str | os.PathLike, scale: int | None = None, device: str | None = None, *,
                allow_unchecked: bool = False, **kwargs) -> Runner:
    """A runner for ``artifact`` (checked against its manifest); use it as a context manager.
    ``device`` ("cpu" or "cuda") applies to ONNX artifacts; the others run where their runtime does.

    An artifact whose export never ran its check (a manifest with an empty ``check``: the export
    was killed, or the manifest was written by hand) is refused unless ``allow_unchecked``; one
    whose check was skipped on purpose (``check: {"skipped": why}``) is served."""
    artifact = Path(artifact)
    manifest = read_manifest(artifact)
    if not allow_unchecked:
        _require_check(artifact, manifest.check)
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

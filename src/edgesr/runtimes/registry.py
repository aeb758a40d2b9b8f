"""Which runner executes an artifact: its manifest's format, looked up in the format table."""

from __future__ import annotations

import os
from pathlib import Path

from edgesr.errors import ArtifactError, ScaleError
from edgesr.formats import FORMATS, get_format
from edgesr.manifest import read_manifest
from edgesr.runtimes.base import ArtifactRunner, cannot_load, first_line
from edgesr.runtimes.measure import check_threads

__all__ = ["SKIPPED_ON_PURPOSE", "cannot_load", "first_line", "open_runner"]

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


def _check_contract(artifact: Path, manifest, backend) -> None:
    """Refuse a manifest that disagrees with the contract written inside its artifact (what ``edgesr
    info`` checks): the runner trusts the manifest's colour, sizes and scales, and a wrong one ends in a
    runtime's traceback or a huge allocation. An artifact without edgesr's metadata (an older export,
    or a format that has none) is not compared."""
    if not backend.metadata:
        return
    from edgesr.metadata import check_agrees, read_contract

    try:
        inside = read_contract(artifact)
    except ArtifactError:
        return
    check_agrees(artifact, manifest, inside)


def open_runner(artifact: str | os.PathLike, scale: int | None = None, device: str | None = None, *,
                allow_unchecked: bool = False, **kwargs) -> ArtifactRunner:
    """A runner for ``artifact`` (checked against its manifest); use it as a context manager.
    ``device`` is one its backend takes (``cuda``: ONNX Runtime's CUDA provider, TensorRT); by
    default each runs where its runtime does. Other keywords go to the backend's runner (``tile``,
    ``threads``, ...).

    An artifact whose export never ran its check (a manifest with an empty ``check``: the export
    was killed, or the manifest was written by hand) is refused unless ``allow_unchecked``; one
    whose check was skipped on purpose (``check: {"skipped": why}``) is served."""
    artifact = Path(artifact)
    manifest = read_manifest(artifact)
    if not allow_unchecked:
        _require_check(artifact, manifest.check)
    backend = get_format(manifest.format)
    _check_contract(artifact, manifest, backend)
    if device is not None and device not in backend.devices:
        takes = [b.name for b in FORMATS.values() if device in b.devices]
        raise ArtifactError(f"{artifact.name}: a {manifest.format} artifact does not take device={device!r}; "
                            f"device {device} is for {' and '.join(takes) or 'no'} artifacts")
    if device is not None and len(backend.devices) > 1:  # the runner chooses between them
        kwargs["device"] = device
    if kwargs.get("threads"):
        check_threads(kwargs["threads"])
    if "threads" in kwargs and not backend.threads:
        if kwargs.pop("threads"):
            raise ArtifactError(f"{artifact.name}: {backend.runtime} does not take a thread count (it runs on "
                                f"{', '.join(backend.devices)}); leave --threads out")
    if scale is None:
        scale = manifest.scales[0]
    if scale not in manifest.scales:
        raise ScaleError(f"{artifact.name} serves {', '.join(f'x{s}' for s in manifest.scales)}, not x{scale}")
    return backend.open(artifact, manifest, scale, **kwargs)

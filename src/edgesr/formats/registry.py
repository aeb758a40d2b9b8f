"""An artifact as its format reads it: its manifest checked against the format (known, right suffix),
the I/O contract inside it (read and written by the format's ``metadata`` module), and the runner that
executes it (``open_runner``)."""

from __future__ import annotations

import os
from pathlib import Path

from typing import Any

from edgesr.errors import ArtifactError, ScaleError
from edgesr.formats.base import FORMATS, Format
from edgesr.manifest import Manifest, Skip, manifest_path, read_manifest
from edgesr.runtimes.base import ArtifactRunner, cannot_load, first_line
from edgesr.runtimes.measure import check_threads

__all__ = ["artifact_manifest", "cannot_load", "embed_contract", "first_line", "open_runner",
           "read_contract"]

# manifests written before check["skip"] said why in words alone: these words meant a skip on purpose
_SKIPPED_BEFORE_SKIP = ("not asked for", "does not run here")  # Skip.NOT_ASKED, Skip.NOT_HERE


def artifact_manifest(artifact: str | os.PathLike, verify: bool = True) -> tuple[Manifest, Format]:
    """``artifact``'s manifest (:func:`edgesr.manifest.read_manifest`: its fields and sha256) and its
    format, which must be known and match the artifact's suffix."""
    artifact = Path(artifact)
    manifest = read_manifest(artifact, verify=verify)
    fmt = FORMATS.get(manifest.format)
    if fmt is None:
        raise ArtifactError(f"{manifest_path(artifact)}: unknown format {manifest.format!r}; known formats: "
                            f"{', '.join(FORMATS)}")
    if artifact.suffix != fmt.suffix:
        raise ArtifactError(f"{artifact}: a {manifest.format} artifact must end in {fmt.suffix}, not {artifact.suffix!r}")
    return manifest, fmt


def _metadata_module(artifact: Path):
    for fmt in FORMATS.values():
        if artifact.name.endswith(fmt.suffix) and fmt.metadata:
            return fmt.metadata_module()
    raise ArtifactError(f"{artifact}: no format with embedded metadata ends in {artifact.suffix!r}")


def embed_contract(artifact: str | os.PathLike, data: dict[str, Any]) -> None:
    """Write the I/O contract ``data`` into ``artifact``, in its format's own metadata."""
    _metadata_module(Path(artifact)).embed(Path(artifact), data)


def read_contract(artifact: str | os.PathLike) -> dict[str, Any]:
    """The I/O contract stored inside ``artifact``, read from the artifact alone."""
    artifact = Path(artifact)
    if not artifact.exists():
        raise ArtifactError(f"{artifact}: no such artifact")
    return _metadata_module(artifact).read(artifact)


def _require_check(artifact: Path, check: dict) -> None:
    """Refuse an artifact whose export did not check it: an empty ``check`` (the export stopped
    before its check ended), or one skipped but not on purpose (no :class:`Skip` recorded)."""
    if "dpsnr" in check:
        return
    skipped = str(check.get("skipped", ""))
    skip = check.get("skip")
    if skip is None and any(words in skipped for words in _SKIPPED_BEFORE_SKIP):
        return  # an older manifest, which said it in words
    if skip in {s.value for s in Skip}:
        return
    why = (f"its check names an unknown skip {skip!r} (known: {', '.join(s.value for s in Skip)})" if skip else
           f"its check was skipped: {skipped}" if skipped else "its manifest's check is empty: the export did not finish")
    raise ArtifactError(f"{artifact} was not checked against PyTorch when it was exported ({why}); re-export it "
                        "with edgesr export (with --no-check to skip the check on purpose)")


def _check_contract(artifact: Path, manifest, format_) -> None:
    """Refuse a manifest that disagrees with the contract written inside its artifact (what ``edgesr
    info`` checks): the runner trusts the manifest's colour, sizes and scales, and a wrong one ends in a
    runtime's traceback or a huge allocation. An artifact without edgesr's metadata (an older export,
    or a format that has none) is not compared."""
    if not format_.metadata:
        return
    from edgesr.metadata import check_agrees

    try:
        inside = read_contract(artifact)
    except ArtifactError:
        return
    check_agrees(artifact, manifest, inside)


def open_runner(artifact: str | os.PathLike, scale: int | None = None, device: str | None = None, *,
                allow_unchecked: bool = False, **kwargs) -> ArtifactRunner:
    """A runner for ``artifact`` (checked against its manifest); use it as a context manager.
    ``device`` is one its format takes (``cuda``: ONNX Runtime's CUDA provider, TensorRT); by
    default each runs where its runtime does. Other keywords go to the format's runner (``tile``,
    ``threads``, ...).

    An artifact whose export never ran its check (a manifest with an empty ``check``: the export
    was killed, or the manifest was written by hand) is refused unless ``allow_unchecked``; one
    whose check was skipped on purpose (``check["skip"]``, :class:`edgesr.manifest.Skip`) is served."""
    artifact = Path(artifact)
    manifest, format_ = artifact_manifest(artifact)
    if not allow_unchecked:
        _require_check(artifact, manifest.check)
    _check_contract(artifact, manifest, format_)
    if device is not None and device not in format_.devices:
        takes = [b.name for b in FORMATS.values() if device in b.devices]
        raise ArtifactError(f"{artifact.name}: a {manifest.format} artifact does not take device={device!r}; "
                            f"device {device} is for {' and '.join(takes) or 'no'} artifacts")
    if device is not None and len(format_.devices) > 1:  # the runner chooses between them
        kwargs["device"] = device
    if kwargs.get("threads"):
        check_threads(kwargs["threads"])
    if "threads" in kwargs and not format_.threads:
        if kwargs.pop("threads"):
            raise ArtifactError(f"{artifact.name}: {format_.runtime} does not take a thread count (it runs on "
                                f"{', '.join(format_.devices)}); leave --threads out")
    if scale is None:
        scale = manifest.scales[0]
    if scale not in manifest.scales:
        raise ScaleError(f"{artifact.name} serves {', '.join(f'x{s}' for s in manifest.scales)}, not x{scale}")
    return format_.open(artifact, manifest, scale, **kwargs)

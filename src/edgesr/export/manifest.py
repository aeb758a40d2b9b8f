"""The manifest now lives in :mod:`edgesr.manifest` (torch-free, shared by the export and runtime
sides); this module keeps its old import path."""

from edgesr.manifest import (MANIFEST_VERSION, VALUE_RANGE, ArtifactSpec, Head, Manifest, TensorSpec, artifact_bytes,
                             manifest_path, read_manifest, sha256, write_manifest)

__all__ = ["MANIFEST_VERSION", "VALUE_RANGE", "ArtifactSpec", "Head", "Manifest", "TensorSpec", "artifact_bytes",
           "manifest_path", "read_manifest", "sha256", "write_manifest"]

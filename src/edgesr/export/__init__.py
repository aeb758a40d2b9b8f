"""Export: one table of formats, one module per format, manifests next to every artifact."""

from edgesr.export.formats import FORMATS, ExportFormat, get_format
from edgesr.export.manifest import Manifest, TensorSpec, read_manifest

__all__ = ["FORMATS", "ExportFormat", "Manifest", "TensorSpec", "get_format", "read_manifest"]

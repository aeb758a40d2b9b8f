"""edgesr: lightweight super-resolution from PyTorch training to measured deployment on devices.

The Python API (``export``, ``open_runner``, ``evaluate``, ``compare``, ``bench``, ``upscale``,
``register_model``, ``sr_model``, ``create_model``, ``load_model``) is imported on first use: ``import edgesr``
does not import PyTorch."""

from __future__ import annotations

import importlib

from edgesr.errors import (
    ArtifactError,
    DataError,
    EdgesrError,
    ExportError,
    ImageError,
    MissingDependencyError,
    ModelError,
    ScaleError,
)

__version__ = "0.1.0"

# the API's functions, imported on first use
_LAZY = {
    **dict.fromkeys(("bench", "compare", "evaluate", "export", "open_runner", "upscale"), "edgesr.api"),
    "register_model": "edgesr.models.registry", "create_model": "edgesr.models.registry",
    "load_model": "edgesr.models.weights", "sr_model": "edgesr.models.references",
}

__all__ = [
    "ArtifactError",
    "DataError",
    "EdgesrError",
    "ExportError",
    "ImageError",
    "MissingDependencyError",
    "ModelError",
    "ScaleError",
    "__version__",
    *_LAZY,
]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'edgesr' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))

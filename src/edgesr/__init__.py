"""edgesr: lightweight super-resolution from PyTorch training to measured deployment on devices."""

from __future__ import annotations

from edgesr.errors import (
    DataError,
    EdgesrError,
    ImageError,
    MissingDependencyError,
    ModelError,
    ScaleError,
)

__version__ = "0.1.0"

__all__ = [
    "DataError",
    "EdgesrError",
    "ImageError",
    "MissingDependencyError",
    "ModelError",
    "ScaleError",
    "__version__",
]

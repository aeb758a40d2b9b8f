"""edgesr: lightweight super-resolution from PyTorch training to measured deployment on devices.

The Python API (``export``, ``open_runner``, ``evaluate``, ``compare``, ``bench``, ``upscale``,
``register_model``, ``sr_model``, ``create_model``, ``load_model``) is imported on first use: ``import edgesr``
does not import PyTorch.

``edgesr.export`` and ``edgesr.bench`` are also the names of subpackages: those two are callable
modules, so ``edgesr.export(...)`` exports and ``edgesr.manifest`` stays the module."""

from __future__ import annotations

import importlib
import sys
import types

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

# the API's functions, imported on first use (``export`` and ``bench``: see ``_CALLABLE``)
_LAZY = {
    "compare": "edgesr.api", "evaluate": "edgesr.api", "open_runner": "edgesr.api", "upscale": "edgesr.api",
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
    "bench",
    "export",
    *_LAZY,
]


# subpackages whose name is also an API call: calling the package calls the function
_CALLABLE = {"export": "edgesr.api.exporting", "bench": "edgesr.api.benching"}


class _CallablePackage(types.ModuleType):
    """A subpackage that is also an API function (``edgesr.export(...)``)."""

    def __call__(self, *args, **kwargs):
        name = self.__name__.rpartition(".")[2]
        return getattr(importlib.import_module(_CALLABLE[name]), name)(*args, **kwargs)


class _Package(types.ModuleType):
    """``edgesr`` itself: makes ``export`` and ``bench`` callable as they are imported."""

    def __setattr__(self, name: str, value) -> None:
        if name in _CALLABLE and type(value) is types.ModuleType:
            value.__class__ = _CallablePackage
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    if name in _CALLABLE:
        return importlib.import_module(f"edgesr.{name}")
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'edgesr' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_CALLABLE))

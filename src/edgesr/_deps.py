"""Import optional heavy packages inside the functions that need them."""

from __future__ import annotations

import importlib
from types import ModuleType

from edgesr.errors import MissingDependencyError


def require(module: str, extra: str, package: str | None = None, install: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the install command
    (``pip install 'edgesr[extra]'`` unless ``install`` gives another)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        name = package or module.split(".")[0]
        raise MissingDependencyError(
            f"{name} is not installed (needed for {extra}); install it with: "
            f"{install or f'pip install {chr(39)}edgesr[{extra}]{chr(39)}'}"
        ) from exc


TORCH_INSTALL = "pip install torch==2.13.0 (the CPU build), or pip install 'edgesr[torch]'"


def missing_torch() -> MissingDependencyError:
    """The error for a torch-free install (``edgesr[ort,litert]``) asked to build, train or export a model."""
    return MissingDependencyError(
        "torch is not installed (models, training and export need PyTorch; this install only runs "
        f"exported artifacts: edgesr eval/upscale -a); install it with: {TORCH_INSTALL}")


def require_torch() -> ModuleType:
    """Import torch, or raise :func:`missing_torch`'s error."""
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        raise missing_torch() from exc

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

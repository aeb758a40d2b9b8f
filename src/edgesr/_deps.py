"""Import optional heavy packages inside the functions that need them."""

from __future__ import annotations

import importlib
from types import ModuleType

from edgesr.errors import MissingDependencyError


def require(module: str, extra: str, package: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the install command."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        name = package or module.split(".")[0]
        raise MissingDependencyError(
            f"{name} is not installed (needed for {extra}); install it with: "
            f"pip install 'edgesr[{extra}]'"
        ) from exc

"""Models: one registry (``create_model``), one module per family. Importing this package does
not import PyTorch; the model modules are imported when a model is built.

A network defined elsewhere needs no registration: declare its factory with ``@sr_model(...)`` and
name it as ``package.module:factory`` or ``path/to/file.py:factory`` wherever a model is named.
"""

from edgesr.models.references import sr_model
from edgesr.models.registry import ModelSpec, create_model, get_spec, list_models, register_model

__all__ = [
    "AsymConv2d",
    "ModelSpec",
    "asymmetrize",
    "create_model",
    "get_spec",
    "list_models",
    "load_model",
    "register_model",
    "sr_model",
    "vdsr_to_asym",
]

_LAZY = {"AsymConv2d": "edgesr.models.asym", "asymmetrize": "edgesr.models.asym", "vdsr_to_asym": "edgesr.models.vdsr",
         "load_model": "edgesr.models.weights"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'edgesr.models' has no attribute {name!r}")

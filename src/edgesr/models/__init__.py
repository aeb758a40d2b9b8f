"""Models: one registry (``create_model``), one module per family."""

from edgesr.models import baselines, vdsr, masrn  # noqa: F401,I001  (registers the models, in this order)
from edgesr.models.asym import AsymConv2d, asymmetrize
from edgesr.models.registry import ModelSpec, create_model, get_spec, list_models
from edgesr.models.vdsr import vdsr_to_asym

__all__ = [
    "AsymConv2d",
    "ModelSpec",
    "asymmetrize",
    "create_model",
    "get_spec",
    "list_models",
    "vdsr_to_asym",
]

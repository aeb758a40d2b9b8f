"""One table of models: ``register_model`` adds a row, ``create_model`` builds from it.

The rows of the models edgesr ships are written here with their factories as ``module:function``
strings, so that names, colours and scales are known without importing PyTorch (the artifact side
and the CLI's checks of what a user typed stay light); a factory is imported when a model is built.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Callable

from edgesr.errors import ModelError, ScaleError

if TYPE_CHECKING:
    from torch import nn

COLOURS = ("y", "rgb")


@dataclass(frozen=True)
class ModelSpec:
    """What the pipeline around a network needs to know about it.

    ``upsampling``: ``"pre"`` networks take the MATLAB-bicubic-upscaled image and keep its size;
    ``"post"`` networks take the LR image and upscale inside. ``multi_scale`` networks serve
    every scale in ``scales`` from one set of weights through ``forward(x, scale)``; other post
    networks are built for one scale; pre networks serve every scale as they are.
    ``int16_modules``: submodules (dotted paths) whose activations the INT8 scheme keeps at 16
    bits: the few tensors where 256 levels cost measurable quality (``edgesr.train.qat``).
    """

    name: str
    build: Callable[..., nn.Module] | str  # or "module:function", imported when first built
    colour: str
    upsampling: str
    scales: tuple[int, ...]
    multi_scale: bool = False
    description: str = ""
    int16_modules: tuple[str, ...] = ()

    def factory(self) -> Callable[..., nn.Module]:
        if callable(self.build):
            return self.build
        module, _, function = self.build.partition(":")
        return getattr(importlib.import_module(module), function)

    @property
    def channels(self) -> int:
        return 1 if self.colour == "y" else 3

    @property
    def per_scale(self) -> bool:
        """True when one network serves exactly one scale (it is built with ``scale=``)."""
        return self.upsampling == "post" and not self.multi_scale


# INT8 (masrn) keeps the last LR tensor, the Upscale head and the HR Refine stage (about a tenth of the
# multiply-adds at x2) at 16-bit activations: on the shipped QAT weights, Set5 x2 simulated INT8
# goes from 0.18 dB below float to 0.03 (x3 0.10 -> 0.04, x4 0.05 -> 0.01).
_SHIPPED = (
    ModelSpec("bicubic", "edgesr.models.baselines:bicubic", "rgb", "pre", (2, 3, 4),
              description="MATLAB bicubic interpolation (no parameters)"),
    ModelSpec("fsrcnn", "edgesr.models.baselines:fsrcnn", "y", "post", (2, 3, 4),
              description="FSRCNN(56,12,4): fast SR CNN with a deconvolution head"),
    ModelSpec("espcn", "edgesr.models.baselines:espcn", "y", "post", (2, 3, 4),
              description="ESPCN: efficient sub-pixel CNN"),
    ModelSpec("vdsr", "edgesr.models.vdsr:vdsr", "y", "pre", (2, 3, 4),
              description="VDSR: 20 3x3 convs, 64 channels, global residual over the bicubic input"),
    ModelSpec("asym_vdsr", "edgesr.models.vdsr:asym_vdsr", "y", "pre", (2, 3, 4),
              description="VDSR with each middle 3x3 conv split into 3x1 then 1x3"),
    ModelSpec("masrn", "edgesr.models.masrn:masrn", "rgb", "post", (2, 3, 4), multi_scale=True,
              description="multi-scale SR: shared Extraction and Refine, one Upscale head per scale",
              int16_modules=("extraction.bottleneck", "upscale", "refine")),
)
_REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in _SHIPPED}


def register_model(name: str, *, colour: str, upsampling: str, scales: tuple[int, ...],
                   multi_scale: bool = False, description: str = "", int16_modules: tuple[str, ...] = ()):
    """Decorator: register ``build(channels=..., [scale=...], **kw) -> nn.Module`` under ``name``."""
    if colour not in COLOURS or upsampling not in ("pre", "post"):
        raise ValueError(f"bad spec for {name}: colour={colour!r}, upsampling={upsampling!r}")

    def add(build: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelSpec(name, build, colour, upsampling, tuple(scales), multi_scale, description,
                                    tuple(int16_modules))
        return build

    return add


def list_models() -> list[str]:
    return list(_REGISTRY)


def get_spec(name: str) -> ModelSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(_REGISTRY)}") from None


def check_model_scale(spec: ModelSpec, scale: int) -> int:
    if scale not in spec.scales:
        raise ScaleError(
            f"{spec.name} does not support x{scale}; supported: {', '.join(f'x{s}' for s in spec.scales)}"
        )
    return scale


def create_model(name: str, scale: int | None = None, *, colour: str | None = None, **kwargs) -> nn.Module:
    """Build model ``name``; ``scale`` is required for per-scale networks (fsrcnn, espcn).

    ``colour`` ("y" or "rgb") overrides the model's default. The model gets a ``spec`` attribute
    (its registry row, with ``scales`` narrowed to ``(scale,)`` for per-scale networks and
    ``colour`` as built) that the inference pipeline reads.
    """
    spec = get_spec(name)
    if colour is not None:
        if colour not in COLOURS:
            raise ModelError(f"colour must be one of {', '.join(COLOURS)}, got {colour!r}")
        spec = replace(spec, colour=colour)
    if scale is not None:
        check_model_scale(spec, scale)
    if spec.per_scale:
        if scale is None:
            raise ModelError(
                f"{name} is built for one scale; pass scale= one of {', '.join(map(str, spec.scales))}"
            )
        kwargs["scale"] = scale
        spec = replace(spec, scales=(scale,))
    try:
        model = spec.factory()(channels=spec.channels, **kwargs)
    except TypeError as exc:
        raise ModelError(f"bad options for {name}: {exc}") from exc
    model.spec = spec
    return model

"""One table of models: ``register_model`` adds a row, ``create_model`` builds from it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from torch import nn

from edgesr.errors import ModelError, ScaleError

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
    build: Callable[..., nn.Module]
    colour: str
    upsampling: str
    scales: tuple[int, ...]
    multi_scale: bool = False
    description: str = ""
    int16_modules: tuple[str, ...] = ()

    @property
    def channels(self) -> int:
        return 1 if self.colour == "y" else 3

    @property
    def per_scale(self) -> bool:
        """True when one network serves exactly one scale (it is built with ``scale=``)."""
        return self.upsampling == "post" and not self.multi_scale


_REGISTRY: dict[str, ModelSpec] = {}


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
        model = spec.build(channels=spec.channels, **kwargs)
    except TypeError as exc:
        raise ModelError(f"bad options for {name}: {exc}") from exc
    model.spec = spec
    return model

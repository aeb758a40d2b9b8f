"""One table of models: ``register_model`` adds a row, ``get_spec`` reads one, ``create_model`` builds.

The rows of the models edgesr ships are written here with their factories as ``module:function``
strings, so that names, colours and scales are known without importing PyTorch (the artifact side
and the CLI's checks of what a user typed stay light); a factory is imported when a model is built.

Wherever a model is named, the name may also be a reference to a factory outside the table:
``package.module:factory``, ``path/to/file.py:factory`` (relative to the working folder), or the
name an installed package registers in the ``edgesr.models`` entry-point group. Such a factory
declares what the pipeline needs with ``@edgesr.models.sr_model(...)`` (``edgesr.models.references``).
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable

from edgesr.errors import ModelError, ScaleError
from edgesr.models import references
from edgesr.models.references import COLOURS, check_declaration, declaration, is_reference, split_reference

if TYPE_CHECKING:
    from torch import nn


@dataclass(frozen=True)
class ModelSpec:
    """What the pipeline around a network needs to know about it.

    ``upsampling``: ``"pre"`` networks take the MATLAB-bicubic-upscaled image and keep its size;
    ``"post"`` networks take the LR image and upscale inside. ``multi_scale`` networks serve
    every scale in ``scales`` from one set of weights through ``forward(x, scale)``; other post
    networks are built for one scale; pre networks serve every scale as they are.
    ``int16_modules``: submodules (dotted paths) whose activations the INT8 scheme keeps at 16
    bits: the few tensors where 256 levels cost measurable quality (``edgesr.train.qat``).
    ``ref``: what rebuilds the model in a fresh process (the registry name, or the reference it was
    named by); ``options``: the constructor options it was built with (besides channels and scale).
    """

    name: str
    build: Callable[..., nn.Module] | str  # or "module:function", imported when first built
    colour: str
    upsampling: str
    scales: tuple[int, ...]
    multi_scale: bool = False
    description: str = ""
    int16_modules: tuple[str, ...] = ()
    ref: str = ""
    options: dict[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not self.ref:
            object.__setattr__(self, "ref", self.name)

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
              description="multi-scale SR: shared Extraction and Refine, one Upscale head per scale"),
    ModelSpec("masrn_v1", "edgesr.models.masrn:masrn_v1", "rgb", "post", (2, 3, 4), multi_scale=True,
              description="the first shipped masrn (its image residual an RGB mosaic, not nearest upsampling)"),
)
SHIPPED_NAMES = frozenset(spec.name for spec in _SHIPPED)
_REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in _SHIPPED}
_REFERENCES: dict[str, ModelSpec] = {}  # specs of references and entry points, by the string that named them

_DECLARED = ("colour", "upsampling", "scales", "multi_scale", "description", "int16_modules")


def register_model(name: str, factory: Callable[..., nn.Module] | str | None = None, **declared):
    """Add ``name`` to the table. Three forms:

    * ``@register_model("net", colour="y", upsampling="post", scales=(2, 3, 4))`` above a factory;
    * ``@register_model("net")`` above a factory declared with ``@sr_model(...)``;
    * ``register_model("net", factory)`` with a factory (or a ``"module:factory"`` string, imported
      now unless the declaration is given here too).

    A factory is ``build(channels=..., [scale=...], **options) -> nn.Module``. Keywords given here
    (colour, upsampling, scales, multi_scale, description, int16_modules) override the factory's own
    declaration.
    """
    unknown = sorted(set(declared) - set(_DECLARED))
    if unknown:
        raise TypeError(f"register_model() got unknown keyword(s) {', '.join(unknown)}")
    if name in _REGISTRY:
        raise ValueError(f"model {name!r} is registered twice")

    def add(build: Callable[..., nn.Module] | str):
        if isinstance(build, str) and not all(declared.get(k) is not None for k in references.REQUIRED):
            build = references.load_factory(build)
        own = dict(getattr(build, references.DECLARATION, None) or {}) if callable(build) else {}
        try:
            values = check_declaration({**own, **{k: v for k, v in declared.items() if v is not None}},
                                       f"model {name!r}")
        except ModelError as exc:
            raise ValueError(str(exc)) from None
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = ModelSpec(name, build, **values)
        return build

    return add if factory is None else add(factory)


def list_models() -> list[str]:
    """The table's names, then those installed packages register (not imported until used)."""
    return list(_REGISTRY) + [n for n in references.entry_point_names() if n not in _REGISTRY]


def get_spec(name: str) -> ModelSpec:
    """The spec of a registry name, a ``module:factory`` or ``file.py:factory`` reference, or an
    entry-point name (references are imported on first use, then remembered)."""
    if not isinstance(name, str) or not name:
        raise ModelError(f"a model is a name or a module:factory / file.py:factory reference, got {name!r}")
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name in _REFERENCES:
        return _REFERENCES[name]
    if is_reference(name):
        factory = references.load_factory(name)  # files are cached by resolved path
        spec = _from_factory(split_reference(name)[1].rpartition(".")[2], factory, name)
        if references.is_file_target(split_reference(name)[0]):
            return spec  # relative to the working folder, which may change: the file itself is cached
    else:
        factory = references.entry_point_factory(name)
        if factory is None:
            raise ModelError(f"unknown model {name!r}; known models: {', '.join(list_models())} (or name a factory: "
                             "package.module:factory or path/to/file.py:factory)")
        spec = _from_factory(name, factory, name)
    _REFERENCES[name] = spec
    return spec


def _from_factory(name: str, factory: Callable, ref: str) -> ModelSpec:
    return ModelSpec(name, factory, ref=ref, **declaration(factory, ref))


def check_model_scale(spec: ModelSpec, scale: int) -> int:
    from edgesr._values import is_whole

    if not is_whole(scale):
        raise ScaleError(f"scale must be a whole number such as {', '.join(map(str, spec.scales))}, got {scale!r}")
    if scale not in spec.scales:
        raise ScaleError(
            f"{spec.name} does not support x{scale}; supported: {', '.join(f'x{s}' for s in spec.scales)}"
        )
    return scale


def create_model(name: str, scale: int | None = None, *, colour: str | None = None, **kwargs) -> nn.Module:
    """Build model ``name`` (a registry name or a reference: see ``get_spec``); ``scale`` is required
    for per-scale networks (fsrcnn, espcn).

    ``colour`` ("y" or "rgb") overrides the model's default; ``scales`` (multi-scale models) narrows
    the heads built; other keywords go to the factory. The model gets a ``spec`` attribute (its
    registry row, with ``scales`` narrowed to ``(scale,)`` for per-scale networks or to ``scales``,
    ``colour`` as built, and the ``options`` it was built with) that the inference pipeline reads.
    """
    spec = get_spec(name)
    if colour is not None:
        if colour not in COLOURS:
            raise ModelError(f"colour must be one of {', '.join(COLOURS)}, got {colour!r}")
        spec = replace(spec, colour=colour)
    spec = replace(spec, options=dict(kwargs))
    if spec.multi_scale and kwargs.get("scales") is not None:
        narrowed = tuple(kwargs["scales"]) if not isinstance(kwargs["scales"], int) else (kwargs["scales"],)
        for s in narrowed:
            check_model_scale(spec, s)
        spec = replace(spec, scales=narrowed)
    if scale is not None:
        check_model_scale(spec, scale)
    if spec.per_scale:
        if scale is None:
            raise ModelError(
                f"{name} is built for one scale; pass scale= one of {', '.join(map(str, spec.scales))}"
            )
        kwargs["scale"] = scale
        spec = replace(spec, scales=(scale,))
    model = _build(spec, kwargs)
    model.spec = spec
    return model


def _build(spec: ModelSpec, kwargs: dict) -> nn.Module:
    factory = spec.factory()
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # a builtin or C callable: call it as documented
        params = None
    takes_any = params is None or any(p.kind is p.VAR_KEYWORD for p in params.values())
    if takes_any or "channels" in params:
        kwargs = {"channels": spec.channels, **kwargs}
    elif spec.colour != get_spec(spec.ref).colour:
        raise ModelError(f"{spec.ref} takes no channels= argument, so it cannot be built for {spec.colour}")
    if spec.per_scale and not takes_any and "scale" not in params:
        raise ModelError(f"{spec.ref} serves one scale per network (post-upsampling, not multi_scale), so its "
                         "factory must take scale=; or declare multi_scale=True and take forward(x, scale)")
    try:
        model = factory(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"bad options for {spec.name}: {exc}") from exc
    if not (hasattr(model, "state_dict") and hasattr(model, "parameters")):
        raise ModelError(f"{spec.ref} returned a {type(model).__name__}, not a torch.nn.Module")
    return model

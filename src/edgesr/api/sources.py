"""What the API is given to upscale with, and the runner that does it.

A *source* is one of: a model named as the registry knows it (``"masrn"``, ``"package.module:factory"``,
``"path/to/file.py:factory"``), an ``nn.Module``, an exported artifact (a path), or an open
:class:`~edgesr.runtimes.base.Runner`. :func:`resolve` turns any of them into one object with a
label, the scales it serves and ``open(scale)``, which makes the runner. Names and artifacts are
resolved without importing PyTorch, so a typo is refused at once.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from edgesr.errors import ArtifactError, ModelError, ScaleError
from edgesr.models.registry import ModelSpec, check_model_scale, get_spec

# what an nn.Module without a ``spec`` must be told (keyword arguments of the API calls)
DECLARED = ("colour", "upsampling", "scales")
# what one piece of an upscaled image may take when no tile is asked for: peak memory stays near the
# output's own size (benchmarks/upscale_memory.py), at little cost in speed
UPSCALE_PIECE_BYTES = 128 * 2**20


class ScaleNotGiven(ScaleError):
    """The source serves several scales and none was chosen (the CLI's usage error: pass --scale)."""


def scale_list(scales) -> str:
    return ", ".join(f"x{s}" for s in sorted(scales))


class ModelSource:
    """A PyTorch model: built by name or reference (with ``weights``, default the shipped ones), or
    an ``nn.Module`` used as it is, with its current weights."""

    kind = "model"

    def __init__(self, label: str, spec: ModelSpec, ref: str | None = None, module: Any = None,
                 weights: str | os.PathLike | None = None):
        self.label, self.spec, self.ref, self.module, self.weights = label, spec, ref, module, weights

    @property
    def scales(self) -> tuple[int, ...]:
        return tuple(self.spec.scales)

    def check_scale(self, scale: int) -> int:
        return check_model_scale(self.spec, scale)

    def load(self, scale: int):
        """The network for ``scale``: the module itself, or the named model with its weights."""
        if self.module is not None:
            return self.module
        from edgesr._deps import require_torch
        from edgesr.models.weights import load_model

        require_torch()  # a torch-free install: one line naming the install

        return load_model(self.ref, scale, self.weights)

    def open(self, scale: int, device: str | None = None, tile: int | None = None, threads: int = 0):
        from edgesr.runtimes.torch import TorchRunner

        return TorchRunner(self.load(scale), scale, device=device, tile=(tile, tile) if tile else None,
                           threads=threads)


class ArtifactSource:
    """An exported artifact and its manifest."""

    kind = "artifact"

    def __init__(self, path: str | os.PathLike):
        from edgesr.manifest import read_manifest

        self.path = Path(path)
        self.label = self.path.name
        self.scales = tuple(read_manifest(self.path).scales)

    def check_scale(self, scale: int) -> int:
        if scale not in self.scales:
            raise ScaleError(f"{self.label} serves {scale_list(self.scales)}, not x{scale}")
        return scale

    def open(self, scale: int, device: str | None = None, tile: int | None = None, threads: int = 0):
        from edgesr.formats.registry import open_runner

        return open_runner(self.path, scale, device=device, threads=threads,
                           **({"tile": (tile, tile)} if tile else {}))


class RunnerSource:
    """A runner the caller opened: used as it is (``switch`` to another scale where it serves several)."""

    kind = "runner"

    def __init__(self, runner):
        artifact = getattr(runner, "artifact", None)
        self.runner, self.label = runner, Path(artifact).name if artifact is not None else runner.spec.name
        manifest = getattr(runner, "manifest", None)
        self.scales = tuple(manifest.scales) if manifest is not None else (runner.scale,)

    def check_scale(self, scale: int) -> int:
        if scale not in self.scales:
            raise ScaleError(f"this {self.runner.name} runner serves {scale_list(self.scales)}, not x{scale}")
        return scale

    def open(self, scale: int, device: str | None = None, tile: int | None = None, threads: int = 0):
        if device is not None or tile is not None or threads:
            raise ModelError("device=, tile= and threads= are for a model or an artifact; an open runner keeps "
                             "its own")
        if scale != self.runner.scale:
            self.runner.switch(scale)
        return self.runner


def _is_runner(obj) -> bool:
    from edgesr.runtimes.base import Runner

    return isinstance(obj, Runner)


def _is_module(obj) -> bool:
    torch = sys.modules.get("torch")  # an nn.Module exists only once torch is imported
    return torch is not None and isinstance(obj, torch.nn.Module)


def _looks_like_path(name: str) -> bool:
    return bool(Path(name).suffix) or "/" in name or os.sep in name


def resolve(source, *, kind: str | None = None, weights: str | os.PathLike | None = None, **declared):
    """The source behind ``source``. ``kind`` ("model" or "artifact") says what a string is, as the
    CLI's ``-m`` and ``-a`` do; without it an existing path is an artifact, anything else a model.
    ``weights`` apply to a model named by string; ``declared`` (colour=, upsampling=, scales=,
    multi_scale=) to an ``nn.Module`` without a ``spec``."""
    if _is_runner(source):
        _refuse_declared(declared, "an open runner")
        return RunnerSource(source)
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        artifact = kind == "artifact" or (kind is None and (isinstance(source, os.PathLike) or _is_artifact(text)))
        _refuse_declared(declared, "an artifact" if artifact else f"model {text!r}")
        if artifact:
            return ArtifactSource(text)
        return ModelSource(text, _named_spec(text, weights), ref=text, weights=weights)
    if _is_module(source):
        if weights is not None:
            raise ModelError("weights= is for a model named by string; load them into the module first "
                             "(edgesr.models.weights.load_weights)")
        spec = declare(source, **declared)
        return ModelSource(spec.name, spec, module=source)
    raise ModelError(f"expected a model name or reference, an nn.Module, an artifact path or a Runner, "
                     f"got {type(source).__name__}")


def _named_spec(name: str, weights) -> ModelSpec:
    """The spec of a named model, as the weights file (one written by ``edgesr train``) narrows it:
    the scales, colour and options it was trained with. No PyTorch is imported."""
    if weights is None:
        return get_spec(name)
    from edgesr.models.weights import weights_spec

    return weights_spec(name, weights)


def _is_artifact(name: str) -> bool:
    """An existing path, or a path-like name that is not a model reference (``file.py:factory``)."""
    if Path(name).exists():
        return True
    if ":" in name:
        return False
    if _looks_like_path(name):
        raise ArtifactError(f"no such artifact: {name} (a path; models are named without a suffix, "
                            "see `edgesr models`)")
    return False


def _refuse_declared(declared: dict, what: str) -> None:
    given = [k for k, v in declared.items() if v is not None]
    if given:
        raise ModelError(f"{', '.join(f'{k}=' for k in given)}: these declare what an nn.Module needs, and "
                         f"{what} declares its own")


def declare(module, *, colour: str | None = None, upsampling: str | None = None, scales=None,
            multi_scale: bool | None = None, name: str | None = None) -> ModelSpec:
    """The module's ``spec`` (set by ``create_model`` or a registered factory), with what the call
    declares over it; a module without one must declare colour, upsampling and scales. The spec is
    set on the module (``module.spec``), where the runners and exporters read it."""
    from edgesr.models.references import check_declaration

    given = {k: v for k, v in {"colour": colour, "upsampling": upsampling, "scales": scales,
                               "multi_scale": multi_scale}.items() if v is not None}
    spec = getattr(module, "spec", None)
    if not isinstance(spec, ModelSpec):
        missing = [k for k in DECLARED if k not in given]
        if missing:
            raise ModelError(
                f"{type(module).__name__} does not say what the pipeline needs: pass "
                f"{', '.join(f'{k}=' for k in missing)} (colour 'y' or 'rgb', upsampling 'pre' or 'post', "
                "scales such as (2, 3, 4)), or build it with edgesr.models.create_model or a registered factory")
        where = type(module).__name__
        spec = ModelSpec(name or where, type(module), **check_declaration(given, where))
    elif given or name:
        own = {k: getattr(spec, k) for k in ("colour", "upsampling", "scales", "multi_scale")}
        values = check_declaration({**own, **given}, spec.name)
        spec = replace(spec, **{k: values[k] for k in own}, name=name or spec.name)
    module.spec = spec
    return spec


def check_arguments(scale=None, device=None, tile=None, threads=0, weights=None) -> None:
    """The common keyword arguments of ``open_runner``, ``upscale``, ``evaluate`` and ``compare``: a
    wrong type or value is one ``EdgesrError`` naming the argument, before anything is loaded."""
    from edgesr._values import is_whole as whole
    from edgesr.errors import ConfigError, ScaleError
    from edgesr.runtimes.measure import check_threads

    if scale is not None and not whole(scale):
        raise ScaleError(f"scale must be a whole number such as 2, 3 or 4 (or None), got {scale!r}")
    if device is not None and device not in ("cpu", "cuda"):
        raise ConfigError(f"device must be 'cpu', 'cuda' or None, got {device!r}")
    if tile is not None and (not whole(tile) or tile < 8):
        raise ConfigError(f"tile must be a whole number of LR pixels, 8 or more (or None), got {tile!r}")
    check_threads(threads)
    if weights is not None and not isinstance(weights, (str, os.PathLike)):
        raise ConfigError(f"weights must be a path to a .safetensors file (or None), got {type(weights).__name__}")


def choose_scale(source, scale: int | None) -> int:
    """``scale`` if the source serves it, or the one scale it serves; several need a choice."""
    if scale is not None:
        return source.check_scale(scale)
    if len(source.scales) > 1:
        raise ScaleNotGiven(f"{source.label} serves {scale_list(source.scales)}: pass --scale")
    return source.scales[0]


def common_scale(sources, scale: int | None) -> int:
    """The scale every source serves: ``scale``, or the only one they share."""
    common = set.intersection(*(set(s.scales) for s in sources))
    if not common:
        served = " and ".join(f"{s.label} serves {scale_list(s.scales)}" for s in sources)
        raise ScaleError(f"{served}: no scale to compare them at")
    if scale is None:
        if len(common) > 1:
            raise ScaleNotGiven(f"both sides serve {scale_list(common)}: pass --scale")
        return common.pop()
    if scale not in common:
        raise ScaleError(f"x{scale} is not served by both sides (common: {scale_list(common)})")
    return scale


def entered(runner):
    """A context for using ``runner``: it activates and releases a runner made here; a runner the
    caller already activated stays as it is."""
    return contextlib.nullcontext(runner) if runner.active else runner


def upscaler(runner):
    """``upscale(lr, scale) -> SRImage`` over an (active) runner, as the evaluation takes."""
    from edgesr.inference import upscale

    return lambda lr, scale: upscale(runner, lr)

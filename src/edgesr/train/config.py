"""Training configuration: a frozen dataclass loaded from YAML; an unknown key is an error."""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from edgesr.errors import ConfigError


PRECISIONS = ("auto", "float32", "bfloat16")
AUGMENTATIONS = ("flip", "rot90")


@dataclass(frozen=True)
class TrainConfig:
    model: str
    scales: tuple[int, ...] = (4,)  # one for single-scale models; several take turns for masrn
    # the order the scales take turns in, batch by batch (default: each of `scales` once), e.g.
    # [2, 3, 4, 3] gives x3 half the batches
    scale_turns: tuple[int, ...] | None = None
    model_options: dict[str, Any] = field(default_factory=dict)
    init: str | None = None  # warm start: a .safetensors whose tensors matching in name and shape are loaded
    # submodules (dotted names, e.g. [tail]) whose weights and biases start at zero, before init: a
    # residual network whose last conv starts at zero starts as its skip (VDSR: the bicubic image)
    zero_init: tuple[str, ...] = ()
    train_sets: tuple[str, ...] = ("291",)
    data_root: str | None = None  # default: $EDGESR_DATA
    # where the prepared training arrays live: memory, a folder of memory-mapped .npy files (prepared
    # once, reused by later runs), or auto (memory up to 4 GiB decoded, else $EDGESR_CACHE/train or
    # ~/.cache/edgesr/train: DIV2K, DF2K)
    data_cache: str = "auto"
    patch_size: int = 96  # HR patch side; LR patches are patch_size / scale
    # what each patch may get at random: a mirror image (flip) and a rotation by 0-3 quarter turns (rot90)
    augment: tuple[str, ...] = AUGMENTATIONS
    batch_size: int = 16
    iterations: int = 100_000
    lr: float = 1e-4
    loss: str = "l1"  # l1 | l2
    schedule: str = "cosine"  # cosine | step | constant
    step_size: int = 50_000  # step schedule: multiply lr by gamma every step_size iterations
    gamma: float = 0.5
    min_lr: float = 1e-6  # cosine schedule floor
    warmup: int = 0
    # a validation at or after iteration max(warmup, this) whose PSNR is below bicubic's at every scale
    # and no better than an earlier validation's stops the run (exit 1): it is not learning (too high
    # an lr, wrong data); null: never checked
    bicubic_floor_after: int | None = 1_000
    grad_clip: float | None = None  # clip the gradient norm (VDSR)
    ema: float | None = None  # decay of an exponential moving average of the weights, e.g. 0.999
    seed: int = 0
    val_set: str = "Set5"
    val_every: int = 2_000
    log_every: int = 100
    checkpoint_every: int = 1_000
    out_dir: str = "runs/run"
    device: str = "auto"  # auto | cpu | cuda
    threads: int = 0  # torch intra-op threads on CPU; 0 = torch's default
    channels_last: bool = True  # NHWC activations: oneDNN's faster convolutions (about 1.2-1.4x on this CPU)
    # the arithmetic of the forward and backward passes (the weights, the optimizer and the EMA stay
    # float32): bfloat16 autocast, or float32; auto: bfloat16 on CUDA and on CPUs with AMX tiles
    # (oneDNN's bf16 convolutions, about 2x float32 there), float32 elsewhere and under QAT
    precision: str = "auto"
    # quantization-aware training (edgesr.train.qat.QATOptions): a mapping, {} for the defaults;
    # null trains in float
    qat: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        checks = [
            (self.loss in ("l1", "l2"), f"loss must be l1 or l2, got {self.loss!r}"),
            (self.schedule in ("cosine", "step", "constant"), f"schedule must be cosine, step or constant, got {self.schedule!r}"),
            (len(self.scales) > 0, "scales must name at least one scale"),
            (self.device in ("auto", "cpu", "cuda"), f"device must be auto, cpu or cuda, got {self.device!r}"),
            (set(self.augment) <= set(AUGMENTATIONS) and len(set(self.augment)) == len(self.augment),
             f"augment must list some of {', '.join(AUGMENTATIONS)} (once each; [] for none), got {list(self.augment)}"),
            (self.precision in PRECISIONS, f"precision must be {', '.join(PRECISIONS)}, got {self.precision!r}"),
            (not (self.qat is not None and self.precision == "bfloat16"),
             "precision: bfloat16 would round what QAT simulates; use precision: float32 (or auto) with qat"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        self._check_numbers()
        self._check_scales()
        if self.scale_turns is not None and set(self.scale_turns) != set(self.scales):
            raise ConfigError(f"scale_turns {list(self.scale_turns)} must use every scale of {list(self.scales)} and no other")
        if any(self.patch_size % s for s in self.scales):
            raise ConfigError(f"patch_size {self.patch_size} must be divisible by every scale {list(self.scales)}")
        from edgesr.train.qat import qat_options

        qat_options(self.qat)  # an unknown or ill-typed qat option is a config error now, not mid-run

    def _check_numbers(self) -> None:
        """Every numeric key in its domain, so a bad value fails here and not (silently) mid-run."""
        for name, low in (("patch_size", 1), ("batch_size", 1), ("iterations", 1), ("step_size", 1),
                          ("warmup", 0), ("seed", 0), ("val_every", 1), ("log_every", 1),
                          ("checkpoint_every", 1), ("threads", 0)):
            _int_at_least(name, getattr(self, name), low)
        _float_in("lr", self.lr, "a finite number > 0", lambda v: v > 0)
        _float_in("gamma", self.gamma, "a number in (0, 1]", lambda v: 0 < v <= 1)
        _float_in("min_lr", self.min_lr, "a finite number >= 0", lambda v: v >= 0)
        if self.schedule == "cosine" and self.min_lr > self.lr:
            raise ConfigError(f"min_lr must be in [0, lr = {self.lr}] for the cosine schedule, got {self.min_lr}")
        if self.bicubic_floor_after is not None:
            _int_at_least("bicubic_floor_after", self.bicubic_floor_after, 0)
        if self.grad_clip is not None:
            _float_in("grad_clip", self.grad_clip, "a finite number > 0 (or null for none)", lambda v: v > 0)
        if self.ema is not None:
            _float_in("ema", self.ema, "a number in (0, 1) (or null for none)", lambda v: 0 < v < 1)

    def _check_scales(self) -> None:
        from edgesr.errors import ModelError
        from edgesr.models.registry import get_spec

        try:
            spec = get_spec(self.model)
        except ModelError as exc:
            raise ConfigError(f"model: {exc}") from None
        for s in (*self.scales, *(self.scale_turns or ())):
            if isinstance(s, bool) or not isinstance(s, int) or s not in spec.scales:
                raise ConfigError(f"scales: {self.model} serves {', '.join(map(str, spec.scales))}, got {s!r}")
        if len(set(self.scales)) != len(self.scales):
            raise ConfigError(f"scales must not repeat a scale, got {list(self.scales)}")
        if spec.per_scale and len(self.scales) != 1:
            raise ConfigError(f"scales: {self.model} is built for one scale; give exactly one, got {list(self.scales)}")

    @property
    def turns(self) -> tuple[int, ...]:
        """The scale of batch i is ``turns[i % len(turns)]``."""
        return self.scale_turns or self.scales

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in dataclasses.fields(self)}


def config_defaults() -> dict[str, Any]:
    """Every key's default, as ``to_dict`` writes it (no model: nothing to check it against)."""
    out = {}
    for f in dataclasses.fields(TrainConfig):
        if f.default is not dataclasses.MISSING:
            out[f.name] = list(f.default) if isinstance(f.default, tuple) else f.default
        elif f.default_factory is not dataclasses.MISSING:
            out[f.name] = f.default_factory()
    return out


def _int_at_least(name: str, value: Any, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{name} must be an integer >= {low}, got {value!r}")


def _float_in(name: str, value: Any, allowed: str, ok: Any) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or not ok(value)):
        raise ConfigError(f"{name} must be {allowed}, got {value!r}")


def _coerce(name: str, hint: Any, value: Any) -> Any:
    """Check ``value`` against the field's type hint and convert lists to tuples."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is tuple:
        items = value if isinstance(value, (list, tuple)) else [value]
        return tuple(_coerce(name, args[0], v) for v in items)
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{name} must be a mapping, got {value!r}")
        return dict(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is float and isinstance(value, str):  # YAML 1.1 reads 2e-4 (no dot) as a string
        try:
            return float(value)
        except ValueError:
            pass
    if hint in (int, float, str, bool) and (not isinstance(value, hint) or (hint is int and isinstance(value, bool))):
        raise ConfigError(f"{name} must be {hint.__name__}, got {value!r}")
    return value


def make_config(values: dict[str, Any]) -> TrainConfig:
    hints = typing.get_type_hints(TrainConfig)
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise ConfigError(f"unknown config key(s): {', '.join(unknown)}; known: {', '.join(hints)}")
    if "model" not in values:
        raise ConfigError("the config must name a model (model: masrn)")
    return TrainConfig(**{k: _coerce(k, hints[k], v) for k, v in values.items()})


def parse_override(item: str) -> tuple[str, Any]:
    """``key=value`` with the value read as YAML (``lr=2e-4``, ``scales=[2,3]``, ``ema=null``)."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set takes key=value, got {item!r}")
    return key.strip(), yaml.safe_load(raw)


def load_config(path: str | os.PathLike | None, overrides: list[str] | tuple[str, ...] = ()) -> TrainConfig:
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot read config {path}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 YAML") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path} must hold a mapping of config keys")
        values.update(loaded)
    values.update(parse_override(item) for item in overrides)
    return make_config(values)

"""Model weights as ``.safetensors`` (no pickle, so loading runs no code).

Files written by ``edgesr train`` say what they hold in their metadata (``identity_metadata``): the
model's reference, its constructor options, the scales trained, colour, upsampling and multi-scale,
so that ``load_model(weights=FILE)`` rebuilds the exact network from the file alone. The shipped
files carry the same (``edgesr.train.publish``), with the scores they are published with.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from edgesr.errors import ModelError

if TYPE_CHECKING:
    from torch import nn

    from edgesr.models.registry import ModelSpec

CHECKPOINT_FORMAT = "edgesr-ckpt-1"  # the metadata format of a training checkpoint (edgesr.train.checkpoint)


def save_weights(model: nn.Module, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> Path:
    """Write the state dict atomically: a crash never leaves a half-written file at ``path``."""
    from safetensors.torch import save_file

    from edgesr._files import atomic_path

    path = Path(path)
    state = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=metadata)
    return path


def load_weights(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load a ``.safetensors`` state dict into ``model``; every key must match in name and shape."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    name = getattr(getattr(model, "spec", None), "name", type(model).__name__)
    if not path.is_file():
        raise ModelError(f"weights file {path} does not exist")
    try:
        state = _weights_of(load_file(path), read_metadata(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ModelError(f"{path} is not a readable .safetensors file ({exc})") from exc
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[0]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[0]})")
        if wrong:
            k = wrong[0]
            parts.append(f"{len(wrong)} of another shape (e.g. {k}: {tuple(state[k].shape)} vs {tuple(own[k].shape)})")
        raise ModelError(f"{path} does not fit model {name}: {'; '.join(parts)}; were they saved from another model or scale?")
    _check_values(path, state, own)
    model.load_state_dict(state)
    return model


def _weights_of(tensors: dict, meta: dict[str, str]) -> dict:
    """The model's tensors: a file's own, or a training checkpoint's averaged (EMA) weights when it
    keeps them, else its model weights."""
    if meta.get("format") != CHECKPOINT_FORMAT:
        return tensors
    prefix = "ema." if any(k.startswith("ema.") for k in tensors) else "model."
    return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}


def _check_values(path: Path, state: dict, own: dict) -> None:
    """Refuse tensors that would load and give black or noisy images: integer or boolean tensors
    where the model holds floating-point ones (load_state_dict would cast them silently), and NaN
    or infinite values (a training run that diverged)."""
    import torch

    for key in sorted(state):
        tensor, expected = state[key], own[key]
        if expected.is_floating_point() and not tensor.is_floating_point():
            raise ModelError(f"{path}: tensor {key} is {str(tensor.dtype).replace('torch.', '')}, not floating point "
                             f"like the model's {str(expected.dtype).replace('torch.', '')}; these are not weights "
                             "edgesr saved (save them as float32)")
        if tensor.is_floating_point() and tensor.numel():
            finite = torch.isfinite(tensor)
            if not bool(finite.all()):
                bad = int((~finite).sum())
                kinds = " and ".join(k for k, n in (("NaN", int(torch.isnan(tensor).sum())),
                                                     ("infinite", int(torch.isinf(tensor).sum()))) if n)
                raise ModelError(f"{path}: tensor {key} holds {bad} {kinds} value{'s' if bad > 1 else ''} of "
                                 f"{tensor.numel()}; the training run that saved it diverged: use an earlier "
                                 "checkpoint (or lower the learning rate and train again)")


PRETRAINED_DIR = Path(__file__).resolve().parent.parent / "pretrained"


def shipped_weights(name: str, scale: int | None = None, qat: bool = False) -> Path | None:
    """The weights shipped inside the package for ``name`` (per-scale files are ``NAME_xS``); with
    ``qat``, its quantization-aware weights (``NAME_qat``), trained for edgesr's one INT8 scheme."""
    stem = name + "_qat" if qat else name
    candidates = ([f"{stem}_x{scale}.safetensors"] if scale is not None else []) + [f"{stem}.safetensors"]
    for file in candidates:
        path = PRETRAINED_DIR / file
        if path.is_file():
            return path
    return None


def is_qat(path: str | os.PathLike) -> bool:
    """Whether a weights file was saved by a quantization-aware training run (its metadata says so)."""
    return "qat" in read_metadata(path)


def read_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The string metadata of a ``.safetensors`` file ({} when it has none or cannot be read)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), "np") as f:
            return dict(f.metadata() or {})
    except Exception:  # unreadable files are reported by load_weights, with the path
        return {}


def identity_metadata(model: nn.Module) -> dict[str, str]:
    """What rebuilds ``model``: its reference, constructor options (JSON), scales, colour, upsampling
    and multi-scale, as safetensors metadata (strings)."""
    spec = model.spec
    try:
        options = json.dumps(spec.options, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ModelError(f"the options of {spec.name} must be JSON values (numbers, strings, lists, mappings) to be "
                         f"saved with its weights: {exc}") from None
    return {"model": spec.ref, "options": options, "scales": json.dumps(list(spec.scales)), "colour": spec.colour,
            "upsampling": spec.upsampling, "multi_scale": json.dumps(spec.multi_scale)}


def stored_identity(path: str | os.PathLike) -> dict:
    """The identity a weights file carries: ``model`` (None when it names none), ``options`` (a dict),
    ``scales`` (a tuple, or None) and ``colour`` (or None); a file that names only its model (as
    edgesr's shipped files did before 0.1) gives None for the rest."""
    meta = read_metadata(path)
    try:
        options = json.loads(meta.get("options", "{}"))
        scales = tuple(json.loads(meta["scales"])) if "scales" in meta else None
    except (ValueError, TypeError) as exc:
        raise ModelError(f"{path}: its metadata does not parse ({exc}); it was not written by edgesr") from None
    if not isinstance(options, dict):
        raise ModelError(f"{path}: its options metadata is not a mapping; it was not written by edgesr")
    return {"model": meta.get("model") or None, "options": options, "scales": scales, "colour": meta.get("colour")}


def _same_model(spec, stored: str) -> bool:
    """Whether a file's stored reference names the model ``spec`` (a file reference may be written
    relative to another folder: the factory's name decides)."""
    return stored == spec.ref or stored.rpartition(":")[2].rpartition(".")[2] == spec.name


def stored_reference(weights: str | os.PathLike, stored: str | None) -> str:
    """The model a file names, when it names one edgesr may build on a file's word: a registry name
    or an installed ``edgesr.models`` entry point. A ``module:factory`` or ``file.py:factory`` it
    stores is refused (importing it would run code the file chose); the user names it instead,
    and the message says how."""
    from edgesr.models.references import is_file_target, is_reference, split_reference

    weights = Path(weights)
    if not stored:
        raise ModelError(f"{weights} does not say which model it holds (files written by edgesr train do); "
                         "name the model (--model NAME or module:factory or file.py:factory)")
    if not is_reference(stored):
        return stored
    target, factory = split_reference(stored)
    named = stored
    if is_file_target(target) and not Path(target).is_absolute() and not (Path.cwd() / target).is_file():
        named = next((f"{beside}:{factory}" for beside in (weights.parent / target, weights.parent / Path(target).name)
                      if beside.is_file()), f"path/to/{Path(target).name}:{factory}")
    raise ModelError(f"{weights} names its model by code ({stored}), and edgesr runs no code a file names; "
                     f"if you trust it, name it yourself: --model {named} (model= in Python)")


def _rebuild(name: str | None, scale: int | None, weights) -> tuple[str, int | None, dict]:
    """The reference, scale and ``create_model`` keywords (options, colour) that build the network a
    weights file holds: what the file stores, when it holds the model named (or names it)."""
    from edgesr.models.registry import get_spec

    stored = stored_identity(weights) if weights is not None else {}
    if name is None:
        if weights is None:
            raise ModelError("name a model or give a weights file that names its model")
        name = stored_reference(weights, stored["model"])
    spec = get_spec(name)
    if not (stored.get("model") and _same_model(spec, stored["model"])):
        return name, scale, {}
    options = dict(stored["options"], **({"colour": stored["colour"]} if stored["colour"] else {}))
    if spec.per_scale and stored["scales"]:
        trained = stored["scales"][0]
        if scale is not None and scale != trained:
            raise ModelError(f"{weights} holds {spec.name} for x{trained}, not x{scale}; use it at x{trained} "
                             f"or give weights trained for x{scale}")
        scale = trained
    return name, scale, options


def weights_spec(name: str | None, weights: str | os.PathLike | None) -> ModelSpec:
    """What ``load_model(name, weights=weights)`` will build, without building it (nor importing
    PyTorch for a registry model): the reference's spec with the scales, colour and options the file
    was trained with (``name=None``: the model the file names)."""
    from dataclasses import replace

    from edgesr.models.registry import get_spec

    name, scale, options = _rebuild(name, None, weights)
    spec = get_spec(name)
    colour = options.pop("colour", spec.colour)
    scales = (scale,) if scale is not None else tuple(options["scales"]) if spec.multi_scale and options.get(
        "scales") else spec.scales
    return replace(spec, colour=colour, scales=scales, options=options)


def load_model(name: str | None = None, scale: int | None = None,
               weights: str | os.PathLike | None = None) -> nn.Module:
    """``create_model`` plus weights: ``weights`` if given, else the shipped ones.

    ``name`` is a registry name or a reference (``get_spec``); with ``name=None`` the weights file
    names its model, which must then be registered or an installed entry point (a file never makes
    edgesr import a ``module:factory`` or ``file.py:factory``: ``stored_reference``). A file written by ``edgesr train`` also gives the constructor options, colour
    and scales it was trained with (when it holds the model named), so the network rebuilt is the
    one trained; a per-scale file gives its scale when ``scale`` is None.
    A model with parameters and no weights is refused: its output would be noise.
    """
    from edgesr.models.references import is_reference
    from edgesr.models.registry import create_model, get_spec

    name, scale, options = _rebuild(name, scale, weights)
    spec = get_spec(name)
    model = create_model(name, scale=scale, **options)
    path = Path(weights) if weights is not None else None
    if path is None and not is_reference(spec.ref):
        path = shipped_weights(spec.name, scale if model.spec.per_scale else None)
    if path is None:
        if any(True for _ in model.parameters()):
            name = spec.name
            other = sorted(int(p.stem.rsplit("_x", 1)[1]) for p in PRETRAINED_DIR.glob(f"{name}_x*.safetensors")
                           if p.stem.rsplit("_x", 1)[1].isdigit())
            shipped = (f"only {', '.join(f'x{s}' for s in other)} {'is' if len(other) == 1 else 'are'} shipped"
                       if other else "none are shipped yet")
            raise ModelError(f"no weights for {name} x{scale}: {shipped}; pass --weights FILE.safetensors"
                             if other else f"no weights for {name}: {shipped}; pass --weights FILE.safetensors")
        return model.eval()
    return load_weights(model, path).eval()

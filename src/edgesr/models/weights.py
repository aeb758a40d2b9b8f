"""Model weights as ``.safetensors`` (no pickle, so loading runs no code)."""

from __future__ import annotations

import os
from pathlib import Path

from torch import nn

from edgesr.errors import ModelError


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
        state = load_file(path)
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


# shipped QAT weights by the INT8 weight grid they were trained for (levels each side of 0, per
# channel): ONNX Runtime's 7 bits (reduce_range), or the 8 bits of LiteRT, Core ML and TensorRT
QAT_STEMS = {64: "_qat", 127: "_qat_w8"}


def shipped_weights(name: str, scale: int | None = None, qat: bool = False,
                    weight_levels: int | None = None) -> Path | None:
    """The weights shipped inside the package for ``name`` (per-scale files are ``NAME_xS``); with
    ``qat``, its quantization-aware weights: those trained for ``weight_levels`` if shipped
    (``NAME_qat``: 64, ``NAME_qat_w8``: 127), else any (``NAME_qat``)."""
    stems = [name]
    if qat:
        stems = list(dict.fromkeys([name + QAT_STEMS.get(weight_levels, "_qat"), name + "_qat"]))
    for stem in stems:
        candidates = ([f"{stem}_x{scale}.safetensors"] if scale is not None else []) + [f"{stem}.safetensors"]
        for file in candidates:
            path = PRETRAINED_DIR / file
            if path.is_file():
                return path
    return None


def is_qat(path: str | os.PathLike) -> bool:
    """Whether a weights file was saved by a quantization-aware training run (its metadata says so)."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), "np") as f:
            return "qat" in (f.metadata() or {})
    except Exception:  # unreadable files are reported by load_weights, with the path
        return False


def load_model(name: str, scale: int | None = None, weights: str | os.PathLike | None = None) -> nn.Module:
    """``create_model`` plus weights: ``weights`` if given, else the shipped ones.

    A model with parameters and no weights is refused: its output would be noise.
    """
    from edgesr.models.registry import create_model

    model = create_model(name, scale=scale)
    path = Path(weights) if weights is not None else shipped_weights(name, scale if model.spec.per_scale else None)
    if path is None:
        if any(True for _ in model.parameters()):
            other = sorted(int(p.stem.rsplit("_x", 1)[1]) for p in PRETRAINED_DIR.glob(f"{name}_x*.safetensors")
                           if p.stem.rsplit("_x", 1)[1].isdigit())
            shipped = (f"only {', '.join(f'x{s}' for s in other)} {'is' if len(other) == 1 else 'are'} shipped"
                       if other else "none are shipped yet")
            raise ModelError(f"no weights for {name} x{scale}: {shipped}; pass --weights FILE.safetensors"
                             if other else f"no weights for {name}: {shipped}; pass --weights FILE.safetensors")
        return model.eval()
    return load_weights(model, path).eval()

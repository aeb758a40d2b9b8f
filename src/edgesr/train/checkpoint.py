"""Resumable checkpoints in one ``.safetensors`` file, written atomically.

Tensors (model, EMA, optimizer state, torch RNG) are stored as tensors; everything else (iteration,
optimizer hyper-parameters, numpy RNG state, best score, config) as JSON in the file's metadata.
Nothing is unpickled on load, so a checkpoint cannot run code.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from edgesr._files import atomic_path
from edgesr.errors import ConfigError, TrainingError


def _atomic_save(tensors: dict[str, torch.Tensor], meta: dict[str, str], path: Path) -> Path:
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
    return path


def save_checkpoint(path: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    ema: torch.nn.Module | None, state: dict[str, Any], metadata: dict[str, str] | None = None) -> Path:
    """``metadata``: the weights' own (``Trainer._weights_metadata``), so that ``load_model`` can
    rebuild the model from a checkpoint too (it loads the EMA weights when there are some)."""
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    if ema is not None:
        tensors.update({f"ema.{k}": v.detach().cpu().contiguous() for k, v in ema.state_dict().items()})
    bad = [k for k, v in tensors.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:  # a checkpoint is what a run resumes from: never replace a finite one with a diverged one
        raise TrainingError(f"refusing to write {path}: {', '.join(bad[:3])} hold non-finite values; "
                            "the run diverged (lower lr or check the training data)")
    opt = optimizer.state_dict()
    for idx, slots in opt["state"].items():
        for key, value in slots.items():
            tensors[f"optim.{idx}.{key}"] = torch.as_tensor(value).detach().cpu().contiguous()
    tensors["rng.torch"] = torch.get_rng_state()
    meta = {**(metadata or {}), "state": json.dumps(state), "param_groups": json.dumps(opt["param_groups"]),
            "format": "edgesr-ckpt-1"}
    return _atomic_save(tensors, meta, path)


def load_checkpoint(path: Path, *, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
                    ema: torch.nn.Module | None) -> dict[str, Any]:
    """Restore model, EMA, optimizer and torch RNG in place; returns the JSON state."""
    from safetensors import safe_open

    if not path.is_file():
        raise ConfigError(f"no checkpoint to resume at {path}")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("format") != "edgesr-ckpt-1":
            raise ConfigError(f"{path} is not an edgesr training checkpoint")
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    if ema is not None:
        ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            slots.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": slots, "param_groups": json.loads(meta["param_groups"])})
    torch.set_rng_state(tensors["rng.torch"])
    return json.loads(meta["state"])

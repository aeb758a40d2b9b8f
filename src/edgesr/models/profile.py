"""Parameter and multiply-add counts, per scale for multi-scale models."""

from __future__ import annotations

import copy

import torch
from torch import nn


def _call(model: nn.Module, x: torch.Tensor, scale: int | None) -> torch.Tensor:
    return model(x, scale) if getattr(model, "spec", None) is not None and model.spec.multi_scale else model(x)


def count_parameters(model: nn.Module, scale: int | None = None) -> int:
    """Parameters used at ``scale``: for a multi-scale model the shared ones plus that scale's head;
    with ``scale=None`` (or any other model) all of them."""
    spec = getattr(model, "spec", None)
    if scale is None or spec is None or not spec.multi_scale:
        return sum(p.numel() for p in model.parameters())
    heads = {name for name, _ in model.named_parameters() if name.startswith("upscale.")}
    own = f"upscale.x{scale}."
    return sum(p.numel() for name, p in model.named_parameters() if name not in heads or name.startswith(own))


def count_macs(model: nn.Module, lr_size: tuple[int, int] = (256, 256), scale: int | None = None) -> int:
    """Multiply-adds of convolutions (and linear layers) for one LR image of ``lr_size`` (H, W).

    Pre-upsampling models run on the ``scale``-times larger bicubic image, so theirs is counted there.
    """
    spec = getattr(model, "spec", None)
    h, w = lr_size
    if spec is not None and spec.upsampling == "pre":
        h, w = h * (scale or 1), w * (scale or 1)
    channels = spec.channels if spec is not None else 3
    total = 0

    def hook(mod: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        if isinstance(mod, nn.Conv2d):
            k = mod.kernel_size[0] * mod.kernel_size[1]
            total += out.numel() * (mod.in_channels // mod.groups) * k
        elif isinstance(mod, nn.ConvTranspose2d):
            k = mod.kernel_size[0] * mod.kernel_size[1]
            total += inputs[0].numel() * (mod.out_channels // mod.groups) * k
        elif isinstance(mod, nn.Linear):
            total += out.numel() * mod.in_features

    shadow = copy.deepcopy(model).to("meta")  # shapes only: nothing is computed
    for m in shadow.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        _call(shadow, torch.empty(1, channels, h, w, device="meta"), scale)
    return total


def activation_bytes_per_pixel(model: nn.Module, scale: int | None = None, probe: int = 32) -> float:
    """Float32 bytes held at once per network-input pixel, estimated as the largest input plus
    output of any one layer (what must coexist when that layer runs), from a meta-device pass."""
    spec = getattr(model, "spec", None)
    channels = spec.channels if spec is not None else 3
    peak = 0

    def hook(mod: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal peak
        held = sum(t.numel() for t in inputs if isinstance(t, torch.Tensor))
        held += out.numel() if isinstance(out, torch.Tensor) else 0
        peak = max(peak, held)

    shadow = copy.deepcopy(model).to("meta")
    for m in shadow.modules():
        if not list(m.children()):  # leaf layers
            m.register_forward_hook(hook)
    with torch.no_grad():
        _call(shadow, torch.empty(1, channels, probe, probe, device="meta"), scale)
    return 4.0 * peak / (probe * probe)

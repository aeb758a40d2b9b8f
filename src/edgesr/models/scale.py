"""A network at one scale: what exporters and the QAT simulator see of a multi-scale model."""

from __future__ import annotations

import torch
from torch import nn


class ScaleBound(nn.Module):
    """A multi-scale network with its scale fixed, so exporters see ``forward(x)``."""

    def __init__(self, model: nn.Module, scale: int):
        super().__init__()
        self.model, self.scale = model, scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, self.scale)


def network_for_scale(model: nn.Module, scale: int) -> nn.Module:
    net = ScaleBound(model, scale) if model.spec.multi_scale else model
    return net.eval()


def network_input_size(model: nn.Module, lr_size: tuple[int, int], scale: int) -> tuple[int, int]:
    """The tensor size the network sees for an LR image of ``lr_size``: pre-upsampling models
    take the bicubic upscale."""
    if model.spec.upsampling == "pre":
        return lr_size[0] * scale, lr_size[1] * scale
    return lr_size

"""VDSR (Kim et al., CVPR 2016) and Asym_VDSR.

20 conv layers of 64 channels with ReLU; the network takes the bicubic-upscaled image and adds
its output to it (global residual). Asym_VDSR replaces each of the 18 middle 3x3 convs by a 3x1
conv followed by a 1x3 conv.
"""

from __future__ import annotations

import torch
from torch import nn

from edgesr.models.asym import AsymConv2d, asymmetrize


class VDSR(nn.Module):
    def __init__(self, channels: int = 1, features: int = 64, depth: int = 20, asym: bool = False):
        super().__init__()
        if depth < 3:
            raise ValueError("VDSR needs at least 3 layers")
        self.head = nn.Conv2d(channels, features, 3, padding=1)
        layers: list[nn.Module] = []
        for _ in range(depth - 2):
            conv = AsymConv2d(features, features, 3) if asym else nn.Conv2d(features, features, 3, padding=1)
            layers += [conv, nn.ReLU(inplace=True)]
        self.body = nn.Sequential(*layers)
        self.tail = nn.Conv2d(features, channels, 3, padding=1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        for m in self.modules():  # no ReLU between a pair's convs: only the second takes ReLU's gain,
            if isinstance(m, AsymConv2d):  # else every layer doubles the variance (2^18 over the body)
                nn.init.kaiming_normal_(m.vertical.weight, nonlinearity="linear")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.tail(self.body(torch.relu(self.head(x))))


def vdsr_to_asym(model: VDSR) -> VDSR:
    """A trained VDSR turned into an Asym_VDSR (same state-dict layout as ``asym_vdsr``) by SVD."""
    return asymmetrize(model, select=lambda name, _: name.startswith("body."))


def vdsr(channels: int = 1, **kw) -> VDSR:
    return VDSR(channels, **kw)


def asym_vdsr(channels: int = 1, **kw) -> VDSR:
    return VDSR(channels, asym=True, **kw)

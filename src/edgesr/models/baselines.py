"""Bicubic interpolation and two published tiny baselines, FSRCNN and ESPCN."""

from __future__ import annotations

import torch
from torch import nn



class Bicubic(nn.Module):
    """No parameters: the pipeline's MATLAB bicubic upscale is the whole result."""

    def __init__(self, channels: int = 3):
        super().__init__()
        self.channels = channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class FSRCNN(nn.Module):
    """FSRCNN (Dong et al., ECCV 2016), d=56, s=12, m=4, PReLU, 9x9 deconvolution."""

    def __init__(self, channels: int = 1, scale: int = 2, d: int = 56, s: int = 12, m: int = 4):
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(channels, d, 5, padding=2), nn.PReLU(d),
                                   nn.Conv2d(d, s, 1), nn.PReLU(s)]
        for _ in range(m):
            layers += [nn.Conv2d(s, s, 3, padding=1), nn.PReLU(s)]
        layers += [nn.Conv2d(s, d, 1), nn.PReLU(d)]
        self.body = nn.Sequential(*layers)
        self.deconv = nn.ConvTranspose2d(d, channels, 9, stride=scale, padding=4, output_padding=scale - 1)
        for mod in self.body:
            if isinstance(mod, nn.Conv2d):
                nn.init.kaiming_normal_(mod.weight, a=0.25, nonlinearity="leaky_relu")
                nn.init.zeros_(mod.bias)
        nn.init.normal_(self.deconv.weight, std=1e-3)
        nn.init.zeros_(self.deconv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.body(x))


class ESPCN(nn.Module):
    """ESPCN (Shi et al., CVPR 2016): two tanh convs at LR, then a sub-pixel (PixelShuffle) layer."""

    def __init__(self, channels: int = 1, scale: int = 2):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, 64, 5, padding=2), nn.Tanh(),
            nn.Conv2d(64, 32, 3, padding=1), nn.Tanh(),
            nn.Conv2d(32, channels * scale * scale, 3, padding=1),
        )
        self.shuffle = nn.PixelShuffle(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.body(x))


def bicubic(channels: int = 3) -> Bicubic:
    return Bicubic(channels)


def fsrcnn(channels: int = 1, scale: int = 2, **kw) -> FSRCNN:
    return FSRCNN(channels, scale, **kw)


def espcn(channels: int = 1, scale: int = 2) -> ESPCN:
    return ESPCN(channels, scale)

"""MASRN: one multi-scale network for x2, x3 and x4.

* Extraction (shared, LR space): a 3x3 head conv, then ``blocks`` multi-scale residual blocks
  (a 3x3 branch and a 5x5 branch in parallel, the 5x5 one split asymmetrically into 5x1 + 1x5,
  fused by a 1x1 conv); the outputs of the head and of every block are concatenated and squeezed
  by a 1x1 bottleneck, as in MSRN.
* Upscale (one small head per scale): a 1x1 conv to ``refine_features * s * s`` channels and a
  PixelShuffle. The spatial context comes from the shared trunk, so the head needs none: a 1x1 head
  keeps the per-scale part at 2-9 k parameters (a 3x3 one was 21-83 k, up to a quarter of the
  model), which is what makes one artifact for every scale barely larger than one for one scale.
* Refine (shared, HR space): parallel residual branches with 3x3 and 5x5 kernels, fused by 1x1,
  then a 3x3 conv to the output channels.
* Image-space residual: the LR input upsampled by nearest neighbour (each pixel an s x s block
  of its own colour) is added to the output, so the HR stages learn detail only, a signal of small
  amplitude that 8-bit activations hold (the int8-native design: QuickSRNet, ABPN). Every deployment
  target has the op, it only moves values (so it quantizes exactly), and there is no bicubic inside
  the graph.

``residual="mosaic"`` is the first shipped masrn's residual (``masrn_v1``):
``pixel_shuffle(x.repeat(1, s*s, 1, 1), s)`` fills each s x s block with a mosaic of R, G and B,
which the HR stages had to undo with large colour corrections; its weights learned around it and
load only into that form.
"""

from __future__ import annotations

import torch
from torch import nn

from edgesr.errors import ScaleError
from edgesr.models.asym import AsymConv2d


class MultiScaleBlock(nn.Module):
    def __init__(self, features: int):
        super().__init__()
        self.branch3 = nn.Conv2d(features, features, 3, padding=1)
        self.branch5 = AsymConv2d(features, features, 5)
        self.fuse = nn.Conv2d(2 * features, features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([torch.relu(self.branch3(x)), torch.relu(self.branch5(x))], dim=1)
        return x + self.fuse(y)


class Extraction(nn.Module):
    def __init__(self, channels: int, features: int, blocks: int):
        super().__init__()
        self.head = nn.Conv2d(channels, features, 3, padding=1)
        self.blocks = nn.ModuleList(MultiScaleBlock(features) for _ in range(blocks))
        self.bottleneck = nn.Conv2d(features * (blocks + 1), features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = [self.head(x)]
        for block in self.blocks:
            outs.append(block(outs[-1]))
        return self.bottleneck(torch.cat(outs, dim=1))


class Upscale(nn.Sequential):
    def __init__(self, features: int, out_features: int, scale: int):
        super().__init__(nn.Conv2d(features, out_features * scale * scale, 1), nn.PixelShuffle(scale))


class Refine(nn.Module):
    def __init__(self, features: int, channels: int):
        super().__init__()
        self.branch3 = nn.Conv2d(features, features, 3, padding=1)
        self.branch5 = nn.Conv2d(features, features, 5, padding=2)
        self.fuse = nn.Conv2d(2 * features, features, 1)
        self.tail = nn.Conv2d(features, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.cat([torch.relu(self.branch3(x)), torch.relu(self.branch5(x))], dim=1)
        return self.tail(x + self.fuse(y))


RESIDUALS = ("nearest", "mosaic")


def image_residual(x: torch.Tensor, scale: int, residual: str = "nearest") -> torch.Tensor:
    """The LR image brought to HR size for the image-space residual: nearest-neighbour upsampling,
    or the first masrn's RGB mosaic (``"mosaic"``)."""
    if residual == "mosaic":
        return nn.functional.pixel_shuffle(x.repeat(1, scale * scale, 1, 1), scale)
    return nn.functional.interpolate(x, scale_factor=scale, mode="nearest")


class MASRN(nn.Module):
    def __init__(self, channels: int = 3, scales: tuple[int, ...] = (2, 3, 4), features: int = 48,
                 blocks: int = 4, refine_features: int = 12, residual: str = "nearest"):
        super().__init__()
        if residual not in RESIDUALS:
            raise ValueError(f"residual must be one of {', '.join(RESIDUALS)}, got {residual!r}")
        self.residual = residual
        self.scales = tuple(scales)
        self.extraction = Extraction(channels, features, blocks)
        self.upscale = nn.ModuleDict({f"x{s}": Upscale(features, refine_features, s) for s in self.scales})
        self.refine = Refine(refine_features, channels)

    # forward = tail(*branch(x, trunk(x), scale)): the three parts a shared-trunk export stores once
    # (trunk, tail) or once per scale (branch).
    def trunk(self, x: torch.Tensor) -> torch.Tensor:
        return self.extraction(x)

    def branch(self, x: torch.Tensor, features: torch.Tensor, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The per-scale part: the Upscale head's output and the upsampled input (``image_residual``)."""
        head = self.upscale[f"x{scale}"] if scale in self.scales else None
        if head is None:
            raise ScaleError(f"masrn has no head for x{scale}; it has {', '.join(f'x{s}' for s in self.scales)}")
        return head(features), image_residual(x, scale, self.residual)

    def tail(self, upscaled: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        return base + self.refine(upscaled)

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        return self.tail(*self.branch(x, self.trunk(x), scale))

    def grown_state(self, tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """``tensors`` of a masrn with fewer Extraction blocks (the same width), brought to this one's
        depth so that it computes exactly what they did: each added block (after the last) gets a
        zero ``fuse`` (the block is the identity until it learns), the bottleneck zero weights for the
        added blocks' outputs; their branches keep a fresh initialisation. Other tensors pass as they are."""
        key = "extraction.bottleneck.weight"
        old = 1 + max((int(k.split(".")[2]) for k in tensors if k.startswith("extraction.blocks.")), default=-1)
        new = len(self.extraction.blocks)
        if key not in tensors or not 0 < old < new:
            return tensors
        own = self.state_dict()
        weight = tensors[key]
        if weight.shape[1] != own[key].shape[1] * (old + 1) // (new + 1) or weight.shape[0] != own[key].shape[0]:
            return tensors  # another width: nothing to grow from
        out = dict(tensors)
        out[key] = torch.cat([weight, weight.new_zeros(weight.shape[0], own[key].shape[1] - weight.shape[1], 1, 1)], dim=1)
        for i in range(old, new):
            for part in ("weight", "bias"):
                name = f"extraction.blocks.{i}.fuse.{part}"
                out[name] = torch.zeros_like(own[name])
        return out


def masrn(channels: int = 3, **kw) -> MASRN:
    return MASRN(channels, **kw)


def masrn_v1(channels: int = 3, **kw) -> MASRN:
    """The first shipped masrn: the same network with the mosaic residual (its weights need it)."""
    return MASRN(channels, residual="mosaic", **kw)

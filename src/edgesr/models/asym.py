"""Asymmetric convolutions: a kxk conv replaced by a kx1 conv followed by a 1xk conv.

``asymmetrize`` converts every kxk conv (k > 1) of any model. The pair is initialised from the
kxk kernel by truncated SVD: with the kernel unfolded into a matrix M[(out, col), (in, row)], the
1xk conv holds ``U sqrt(S)`` and the kx1 conv ``sqrt(S) V^T`` of the best rank-``width``
approximation of M (Eckart-Young), the closest any pair of that width can come to the kxk kernel.
The first conv of a pair has no bias, so the pair equals a kxk conv exactly, borders included,
whenever the kernel's rank is at most ``width``.
"""

from __future__ import annotations

import copy
import math
from typing import Callable

import torch
from torch import nn


def default_width(in_channels: int, out_channels: int, k: int) -> int:
    """The paper's width (the wider of in/out channels), capped at the rank a kxk kernel can have."""
    return min(in_channels * k, out_channels * k, max(in_channels, out_channels))


class AsymConv2d(nn.Module):
    """``kx1`` conv (no bias) then ``1xk`` conv, standing in for a ``kxk`` conv of the same geometry."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, width: int | None = None,
                 stride: int = 1, padding: int | None = None, dilation: int = 1, bias: bool = True):
        super().__init__()
        k = kernel_size
        width = width or default_width(in_channels, out_channels, k)
        pad = dilation * (k - 1) // 2 if padding is None else padding
        self.vertical = nn.Conv2d(in_channels, width, (k, 1), stride=(stride, 1), padding=(pad, 0),
                                  dilation=(dilation, 1), bias=False)
        self.horizontal = nn.Conv2d(width, out_channels, (1, k), stride=(1, stride), padding=(0, pad),
                                    dilation=(1, dilation), bias=bias)
        self.relative_error: float | None = None  # set when initialised from a kxk kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.horizontal(self.vertical(x))

    @classmethod
    def from_conv(cls, conv: nn.Conv2d, width: int | None = None) -> "AsymConv2d":
        """The pair closest to ``conv``'s kernel; ``relative_error`` is ``||W - W'|| / ||W||``."""
        k = conv.kernel_size[0]
        out_c, in_c = conv.out_channels, conv.in_channels
        width = width or default_width(in_c, out_c, k)
        pair = cls(in_c, out_c, k, width, conv.stride[0], conv.padding[0], conv.dilation[0], conv.bias is not None)
        pair = pair.to(device=conv.weight.device, dtype=conv.weight.dtype)
        with torch.no_grad():
            w = conv.weight.detach().double()
            m = w.permute(0, 3, 1, 2).reshape(out_c * k, in_c * k)  # rows (out, col), cols (in, row)
            u, s, vh = torch.linalg.svd(m, full_matrices=False)
            r = min(width, s.numel())
            root = s[:r].sqrt()
            horiz = torch.zeros(out_c * k, width, dtype=torch.float64)
            vert = torch.zeros(width, in_c * k, dtype=torch.float64)
            horiz[:, :r] = u[:, :r] * root
            vert[:r] = root[:, None] * vh[:r]
            pair.horizontal.weight.copy_(horiz.reshape(out_c, k, width).permute(0, 2, 1).unsqueeze(2))
            pair.vertical.weight.copy_(vert.reshape(width, in_c, k).unsqueeze(3))
            if conv.bias is not None:
                pair.horizontal.bias.copy_(conv.bias)
            total = float((s**2).sum())
            pair.relative_error = math.sqrt(float((s[r:] ** 2).sum()) / total) if total > 0 else 0.0
        return pair


def is_square_conv(module: nn.Module) -> bool:
    """A plain kxk conv (k > 1) that a pair can replace exactly in shape."""
    return (
        type(module) is nn.Conv2d
        and module.groups == 1
        and module.padding_mode == "zeros"
        and isinstance(module.padding, tuple)
        and module.kernel_size[0] == module.kernel_size[1] > 1
        and module.stride[0] == module.stride[1]
        and module.padding[0] == module.padding[1]
        and module.dilation[0] == module.dilation[1]
    )


def asymmetrize(model: nn.Module, select: Callable[[str, nn.Conv2d], bool] | None = None,
                width: int | None = None) -> nn.Module:
    """A copy of ``model`` with every kxk conv (k > 1) replaced by an SVD-initialised
    :class:`AsymConv2d`; ``select(name, conv)`` limits which. Grouped, strided-unevenly or
    non-zero-padded convs are left as they are. The copy keeps ``model``'s attributes (``spec``)."""
    model = copy.deepcopy(model)
    targets = [
        (name, mod) for name, mod in model.named_modules()
        if is_square_conv(mod) and (select is None or select(name, mod))
    ]
    for name, conv in targets:
        parent_name, _, child = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, child, AsymConv2d.from_conv(conv, width))
    return model


def asym_layers(model: nn.Module) -> list[tuple[str, AsymConv2d]]:
    return [(n, m) for n, m in model.named_modules() if isinstance(m, AsymConv2d)]

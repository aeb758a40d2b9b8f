"""RepSR: a small super-resolution network defined outside edgesr, for edge devices.

Each body block trains as three branches added together, a 3x3 conv, a 1x1 conv and the identity
(no batch norm), followed by a ReLU. The branches are linear, so their sum is one 3x3 conv: the
block folds itself into it when the network is put in eval mode (``model.eval()``, which every
edgesr command does after loading the weights), and back into branches with ``model.train()``.
The weights file keeps the training-time branches; the fused convs are not part of the state dict.

Deployed, the network is plain convs, ReLUs and a pixel shuffle, plus one add: the image skip, the
LR input repeated as each of the ``scale * scale`` output phases (nearest-neighbour upscaling), so
a fresh network starts as nearest-neighbour upscaling and the body (its last conv starts at zero)
learns the rest on top. The skip computes nothing, so INT8 carries the image through it exactly; a
learned 5x5 skip set to MATLAB's bicubic kernel (this example's first version) carried the whole
image through 8-bit weights, whose rounding shifted each phase's brightness (its taps' sum) by up to
3%: -1.9 dB in ONNX INT8, -0.17 to -0.27 dB in LiteRT INT8, against -0.08 and -0.07 dB now.
``skip=False`` drops it (no add at all; slower to train).

    edgesr train examples/repsr.yaml
    edgesr export -m examples/repsr.py:repsr -w runs/repsr_x2/best.safetensors -f onnx

The file imports only torch and edgesr's ``sr_model`` declaration.
"""

from __future__ import annotations

import torch
from torch import nn

from edgesr.models import sr_model


class _Fused(nn.Conv2d):
    """The conv a block folds into. It holds no state of its own (it is computed from the
    branches), so it is neither saved with the weights nor expected when they are loaded."""

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        pass

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs):
        pass


def _refold(module: "RepBlock", incompatible_keys) -> None:
    """Weights loaded into an evaluating block: fold them again (a load_state_dict post hook)."""
    if not module.training:
        module.fold()


class RepBlock(nn.Module):
    """``relu(conv3x3(x) + conv1x1(x) + x)`` while training; ``relu(fused(x))`` in eval mode."""

    def __init__(self, features: int):
        super().__init__()
        self.conv3 = nn.Conv2d(features, features, 3, padding=1)
        self.conv1 = nn.Conv2d(features, features, 1)
        self.register_module("fused", None)  # the folded conv, in eval mode
        self.register_load_state_dict_post_hook(_refold)

    def folded_kernel(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The 3x3 kernel and bias equal to the three branches."""
        w = self.conv3.weight + nn.functional.pad(self.conv1.weight, (1, 1, 1, 1))
        identity = torch.zeros_like(w)
        idx = torch.arange(w.shape[0], device=w.device)
        identity[idx, idx, 1, 1] = 1.0
        return w + identity, self.conv3.bias + self.conv1.bias

    def fold(self) -> None:
        with torch.inference_mode(False), torch.no_grad():
            w, b = self.folded_kernel()
            fused = _Fused(w.shape[1], w.shape[0], 3, padding=1).to(device=w.device, dtype=w.dtype)
            fused.weight.copy_(w)
            fused.bias.copy_(b)
        self.fused = fused.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> "RepBlock":
        super().train(mode)
        if mode:
            self.fused = None
        else:
            self.fold()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused is not None:
            return torch.relu(self.fused(x))
        return torch.relu(self.conv3(x) + self.conv1(x) + x)


class RepSR(nn.Module):
    def __init__(self, channels: int = 1, scale: int = 2, features: int = 16, blocks: int = 4,
                 skip: bool = True):
        super().__init__()
        self.scale = scale
        self.head = nn.Conv2d(channels, features, 3, padding=1)
        self.blocks = nn.Sequential(*(RepBlock(features) for _ in range(blocks)))
        self.tail = nn.Conv2d(features, channels * scale * scale, 3, padding=1)
        self.shuffle = nn.PixelShuffle(scale)
        self.skip = skip
        if skip:
            with torch.no_grad():
                self.tail.weight.zero_()  # a fresh network is nearest-neighbour upscaling
                self.tail.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tail(self.blocks(torch.relu(self.head(x))))
        if self.skip:  # each LR pixel as every one of its scale * scale output phases
            y = y + x.repeat_interleave(self.scale * self.scale, dim=1)
        return self.shuffle(y)


@sr_model(colour="y", upsampling="post", scales=(2, 3, 4))
def repsr(channels: int = 1, scale: int = 2, features: int = 16, blocks: int = 4, skip: bool = True) -> RepSR:
    """RepSR: re-parameterisable 3x3+1x1+identity blocks folded into plain 3x3 convs at eval time"""
    return RepSR(channels, scale, features, blocks, skip)

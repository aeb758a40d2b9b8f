"""Pieces every exporter shares: the network for one scale, its input shape, atomic output."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

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


@contextlib.contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """Yield a path beside ``out`` for a package folder; it replaces ``out`` only if the block succeeds."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.")) / out.name
    try:
        yield tmp
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp.parent, ignore_errors=True)


@contextlib.contextmanager
def atomic_output(out: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``out``; rename it to ``out`` only if the block succeeds."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=out.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, out)
    finally:
        Path(tmp).unlink(missing_ok=True)

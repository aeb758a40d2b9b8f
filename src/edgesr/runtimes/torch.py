"""Runs a PyTorch ``nn.Module`` (eager) as a runner."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from edgesr.runtimes.base import Runner


class TorchRunner(Runner):
    name = "torch"

    def __init__(self, model: nn.Module, scale: int, device: str = "cpu"):
        spec = model.spec
        super().__init__(spec.channels, scale)
        self.model = model
        self.device = torch.device(device)
        self.multi_scale = spec.multi_scale

    def activate(self) -> None:
        self.model.to(self.device).eval()
        super().activate()

    def _infer(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            t = torch.from_numpy(x).to(self.device)
            y = self.model(t, self.scale) if self.multi_scale else self.model(t)
            return y.float().cpu().numpy()

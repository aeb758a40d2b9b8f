"""Runs a PyTorch ``nn.Module`` (eager): the reference every other runner is checked against."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from edgesr.errors import EdgesrError
from edgesr.runtimes.base import Runner


class TorchRunner(Runner):
    name = "torch"

    def __init__(self, model: nn.Module, scale: int, device: str | None = None, tile: tuple[int, int] | None = None,
                 threads: int = 0):
        """``device`` defaults to where the model's weights are (so a training run's validation
        does not move the model). ``threads``: PyTorch's intra-op CPU threads while the runner is
        active (PyTorch's setting is per process: it is restored on deactivation; 0: leave it)."""
        from edgesr.runtimes.measure import check_threads

        self.model, self.scale, self._radius, self.threads = model, scale, None, check_threads(threads)
        super().__init__(model.spec, scale, tile=tile, overlap=self.receptive_radius() if tile is not None else 0)
        from edgesr.models.profile import activation_bytes_per_pixel

        self.bytes_per_pixel = activation_bytes_per_pixel(model, scale)
        if device is None:
            device = next((p.device for p in model.parameters()), torch.device("cpu"))
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise EdgesrError(f"device {device!r}: this PyTorch ({torch.__version__}) has no CUDA device; "
                              "leave --device out to run on the CPU, or install a CUDA build of torch on a GPU machine")

    def receptive_radius(self) -> int:
        if self._radius is None:  # measured once, when tiling first needs it
            factor = 1 if self.model.spec.upsampling == "pre" else self.scale
            self._radius = receptive_radius(self.model, self.model.spec.channels, factor,
                                            scale=self.scale if self.model.spec.multi_scale else None)
        return self._radius

    def activate(self) -> None:
        self._threads_before = torch.get_num_threads()
        if self.threads:
            torch.set_num_threads(self.threads)
        self.model.to(self.device).eval()
        super().activate()

    def deactivate(self) -> None:
        if self.threads and getattr(self, "_threads_before", None):
            torch.set_num_threads(self._threads_before)
        super().deactivate()

    def _run(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            t = torch.from_numpy(x).to(self.device)
            y = self.model(t, self.scale) if self.spec.multi_scale else self.model(t)
            return y.float().cpu().numpy()


def receptive_radius(net: nn.Module, channels: int, factor: int, probe: int = 96, scale: int | None = None) -> int:
    """How far (in input pixels) an input change reaches in the output, measured with an impulse;
    ``scale``: call ``net(x, scale)`` (a multi-scale network) instead of ``net(x)``."""
    net = net.eval()
    x = torch.zeros(1, channels, probe, probe, dtype=torch.float64)
    c = probe // 2

    def call(t: torch.Tensor) -> torch.Tensor:
        return net(t) if scale is None else net(t, scale)

    with torch.no_grad():
        net.double()
        base = call(x)
        x[:, :, c, c] = 1.0
        diff = (call(x) - base).abs().sum(dim=(0, 1))
    net.float()
    ys, xs = torch.nonzero(diff > 0, as_tuple=True)
    if ys.numel() == 0:
        return 0
    reach = max(int((ys.min() // factor - c).abs()), int(ys.max() // factor - c),
                int((xs.min() // factor - c).abs()), int(xs.max() // factor - c))
    if reach >= c - 1:
        raise ValueError(f"receptive field reaches past a {probe}px probe; use a larger probe")
    return reach

"""Runs a PyTorch ``nn.Module``: eager FP32 is the reference every other runner is checked against.

The desktop GPU baseline also times the ways PyTorch itself runs faster (``precision`` and ``mode``,
named in :mod:`edgesr.runtimes.torch_modes`):
``fp16`` and ``bf16`` run the FP32 network under autocast (convolutions in half precision, weights
kept FP32); ``channels_last`` stores the weights and the input NHWC (what tensor-core convolutions
read); ``compile`` is ``torch.compile`` (Inductor) of the channels-last network; ``cuda_graphs``
captures the channels-last network once per input shape into a CUDA graph and replays it (no
per-layer launch cost; CUDA only). Each mode's output is scored like any other row's.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from edgesr.errors import EdgesrError
from edgesr.runtimes.base import Runner


from edgesr.runtimes.torch_modes import CUDA_ONLY_MODES, TORCH_MODES, TORCH_PRECISIONS

# autocast's dtype per precision (fp32: none)
AUTOCAST = dict(zip(TORCH_PRECISIONS, (None, torch.float16, torch.bfloat16)))


class TorchRunner(Runner):
    name = "torch"

    def __init__(self, model: nn.Module, scale: int, device: str | None = None, tile: tuple[int, int] | None = None,
                 threads: int = 0, precision: str = "fp32", mode: str = "eager"):
        """``device`` defaults to where the model's weights are (so a training run's validation
        does not move the model). ``threads``: PyTorch's intra-op CPU threads while the runner is
        active (PyTorch's setting is per process: it is restored on deactivation; 0: leave it).
        ``precision`` (fp32, or fp16/bf16 autocast) and ``mode`` (see the module): how PyTorch runs it."""
        from edgesr.runtimes.measure import check_threads

        if precision not in AUTOCAST:
            raise EdgesrError(f"PyTorch precision {precision!r} is not one of {', '.join(TORCH_PRECISIONS)}")
        if mode not in TORCH_MODES:
            raise EdgesrError(f"PyTorch mode {mode!r} is not one of {', '.join(TORCH_MODES)}")
        self.model, self.scale, self._radius, self.threads = model, scale, None, check_threads(threads)
        self.precision, self.mode = precision, mode
        self._forward, self._graphs = None, {}
        super().__init__(model.spec, scale, tile=tile, overlap=self.receptive_radius() if tile is not None else 0)
        from edgesr.models.profile import activation_bytes_per_pixel

        self.bytes_per_pixel = activation_bytes_per_pixel(model, scale)
        if device is None:
            device = next((p.device for p in model.parameters()), torch.device("cpu"))
        self.device = torch.device(device)
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise EdgesrError(f"device {device!r}: this PyTorch ({torch.__version__}) has no CUDA device; "
                              "leave --device out to run on the CPU, or install a CUDA build of torch on a GPU machine")
        if mode in CUDA_ONLY_MODES and self.device.type != "cuda":
            raise EdgesrError(f"PyTorch mode {mode} needs a CUDA GPU, and this runner is on {self.device}; "
                              f"choose another mode ({', '.join(m for m in TORCH_MODES if m not in CUDA_ONLY_MODES)})")

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
        if self.mode != "eager":
            self.model.to(memory_format=torch.channels_last)
        self._forward = torch.compile(self.model) if self.mode == "compile" else self.model
        super().activate()

    def deactivate(self) -> None:
        if self.threads and getattr(self, "_threads_before", None):
            torch.set_num_threads(self._threads_before)
        self._forward, self._graphs = None, {}
        if self.mode != "eager":  # the module is the caller's: give it back as it came
            self.model.to(memory_format=torch.contiguous_format)
        super().deactivate()

    def _call(self, t: torch.Tensor) -> torch.Tensor:
        """The network on ``t`` at this runner's precision (autocast's weight cache off: a CUDA graph
        must not hold casts made outside it)."""
        dtype = AUTOCAST[self.precision]
        with torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None, cache_enabled=False):
            return self._forward(t, self.scale) if self.spec.multi_scale else self._forward(t)

    def _replay(self, t: torch.Tensor) -> torch.Tensor:
        """``t`` through the CUDA graph captured for its shape (captured on first sight, after two
        warm-up calls on a side stream, as CUDA graph capture requires)."""
        key = tuple(t.shape)
        if key not in self._graphs:
            static = t.clone()
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(2):
                    self._call(static)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                out = self._call(static)
            self._graphs[key] = (graph, static, out)
        graph, static, out = self._graphs[key]
        static.copy_(t)
        graph.replay()
        return out

    def _run(self, x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            t = torch.from_numpy(x).to(self.device)
            if self.mode != "eager":
                t = t.contiguous(memory_format=torch.channels_last)
            y = self._replay(t) if self.mode == "cuda_graphs" else self._call(t)
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

"""The runner contract every backend follows.

A runner executes one network on float32 NCHW arrays scaled to [0, 1]. ``infer`` checks the input
and the runner's state, then calls the backend's ``_infer``. Runners are context managers: heavy
state (sessions, interpreters, engines) is made in ``__enter__`` (``activate``) and released in
``__exit__``. Colour handling, bicubic pre-upscaling and rounding live in
:mod:`edgesr.inference`, not here.
"""

from __future__ import annotations

import numpy as np

from edgesr.errors import EdgesrError


class Runner:
    name = "base"

    def __init__(self, channels: int, scale: int):
        self.channels = channels
        self.scale = scale
        self.active = False

    def activate(self) -> None:
        self.active = True

    def deactivate(self) -> None:
        self.active = False

    def __enter__(self) -> "Runner":
        self.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        self.deactivate()

    def infer(self, x: np.ndarray) -> np.ndarray:
        """Run the network on ``x`` (float32, ``1 x C x H x W``); returns float32 NCHW."""
        if not self.active:
            raise EdgesrError(f"{self.name} runner is not active; use it as a context manager (with ... as runner)")
        if not isinstance(x, np.ndarray) or x.ndim != 4 or x.shape[1] != self.channels:
            shape = getattr(x, "shape", None)
            raise EdgesrError(f"{self.name} runner takes N x {self.channels} x H x W input, got {shape}")
        out = self._infer(np.ascontiguousarray(x, dtype=np.float32))
        return np.asarray(out, dtype=np.float32)

    def _infer(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

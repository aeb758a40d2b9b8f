"""The runner contract every backend follows.

A runner executes one network for one scale. ``infer(lr)`` takes an LR uint8 image and returns an
:class:`~edgesr.inference.SRImage`: colour handling, the bicubic pre-upscale and rounding come
from the model's spec (for artifacts, from their manifest), the network from the backend's
``_run``, which maps float32 NCHW arrays on [0, 1] to float32 NCHW. ``run(x)`` checks ``x`` and
the runner's state and calls ``_run``. Runners are context managers: heavy state (sessions,
interpreters, engines) is made in ``activate`` and released in ``deactivate``.
"""

from __future__ import annotations

import numpy as np

from edgesr.errors import EdgesrError, ScaleError
from edgesr.models.registry import ModelSpec


class Runner:
    name = "base"
    pad = "edge"  # how an input smaller than one tile is padded up to it (numpy pad mode)

    def __init__(self, spec: ModelSpec, scale: int, tile: tuple[int, int] | None = None, overlap: int = 0,
                 fixed: bool = False):
        """``tile`` (network-input H, W of each tile's kept core) runs larger inputs as tiles with
        ``overlap`` pixels of context on each side; a ``fixed``-shape artifact's tile is its own
        input size, context included."""
        self.spec = spec
        self.scale = scale
        self.channels = spec.channels
        if tile is not None and not fixed:
            tile = (tile[0] + 2 * overlap, tile[1] + 2 * overlap)
        self.tile, self.overlap = tile, overlap
        self.factor = 1 if spec.upsampling == "pre" else scale
        self.active = False

    def switch(self, scale: int) -> None:
        """Serve another scale of a shared-trunk artifact without reloading what the scales share."""
        raise ScaleError(f"this {self.name} runner serves x{self.scale} only; open a runner for x{scale}")

    def _set_scale(self, scale: int, scales: tuple[int, ...]) -> None:
        if scale not in scales:
            raise ScaleError(f"this artifact serves {', '.join(f'x{s}' for s in scales)}, not x{scale}")
        self.scale = scale
        self.factor = 1 if self.spec.upsampling == "pre" else scale

    def activate(self) -> None:
        self.active = True

    def deactivate(self) -> None:
        self.active = False

    def __enter__(self) -> "Runner":
        self.activate()
        return self

    def __exit__(self, *exc: object) -> None:
        self.deactivate()

    def infer(self, lr: np.ndarray):
        """Upscale one LR uint8 image (``HxW`` or ``HxWx3``) by ``self.scale``."""
        from edgesr.inference import super_resolve

        return super_resolve(lr, self.scale, self.spec, self.run)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run the network on ``x`` (float32, ``1 x C x H x W`` on [0, 1]); returns float32 NCHW."""
        if not self.active:
            raise EdgesrError(f"{self.name} runner is not active; use it as a context manager (with ... as runner)")
        if not isinstance(x, np.ndarray) or x.ndim != 4 or x.shape[1] != self.channels:
            shape = getattr(x, "shape", None)
            raise EdgesrError(f"{self.name} runner takes N x {self.channels} x H x W input, got {shape}")
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.tile is None:
            self._check_memory(x)
        if self.tile is not None and x.shape[2:] != tuple(self.tile):
            from edgesr.runtimes.tiling import tiled_run

            out = tiled_run(self._run, x, self.tile, min(self.overlap, (min(self.tile) - 1) // 2), self.factor,
                            pad=self.pad)
        else:
            out = self._run(x)
        return np.asarray(out, dtype=np.float32)

    bytes_per_pixel: float | None = None  # activation memory per input pixel, when known

    def _check_memory(self, x: np.ndarray) -> None:
        """Refuse a full-frame run that cannot fit in the memory available now."""
        if not self.bytes_per_pixel:
            return
        need = self.bytes_per_pixel * x.shape[0] * x.shape[2] * x.shape[3]
        free = available_memory()
        if free is not None and need > free:
            raise EdgesrError(
                f"a {x.shape[3]}x{x.shape[2]} input needs about {need / 2**30:.1f} GiB at once, more than the "
                f"{free / 2**30:.1f} GiB available; run it in tiles (--tile 256, or tile= in the API)")

    def _run(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


def available_memory() -> int | None:
    """Bytes of memory available now (Linux MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None

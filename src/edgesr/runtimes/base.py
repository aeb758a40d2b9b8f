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
        # infer() upscales large images piece by piece (LR rows, columns): the tile asked for, else
        # a size chosen from the memory available (``auto_tile``); fixed-shape runners set it by
        # ``image_tile`` since their ``tile`` is the artifact's input size
        self.image_tile = tuple(tile) if tile is not None and not fixed else None
        if tile is not None and not fixed:
            tile = (tile[0] + 2 * overlap, tile[1] + 2 * overlap)
        self.tile, self.overlap, self.fixed_shape = tile, overlap, fixed
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

    def infer(self, lr: np.ndarray, progress=None, keep_y: bool = True):
        """Upscale one LR uint8 image (``HxW`` or ``HxWx3``) by ``self.scale``: an
        :class:`~edgesr.inference.SRImage`. An image larger than ``image_tile`` (or than what fits in
        the memory available, when no tile was asked for) is done piece by piece, with
        ``progress(done, total)`` after each. ``keep_y=False``: the image only (see ``super_resolve``)."""
        from edgesr.inference import super_resolve, tile_margin

        lr = np.asarray(lr)
        tile = self.image_tile or self.auto_tile(lr.shape[:2])
        margin = tile_margin(self.spec, self.scale, self.receptive_radius()) if tile else 0
        return super_resolve(lr, self.scale, self.spec, self._network, tile=tile, margin=margin, progress=progress,
                             keep_y=keep_y)

    def _network(self, x: np.ndarray) -> np.ndarray:
        """``run`` for infer's pieces: tiled only at a fixed-shape artifact's own input size (the
        pieces already bound memory)."""
        return self.run(x, tiled=False)

    def receptive_radius(self) -> int:
        """Network-input pixels an output pixel depends on, each side (0 where unknown)."""
        return self.overlap

    # bytes per output pixel the image pipeline holds besides the network (float64 colour planes)
    PIPELINE_BYTES_PER_PIXEL = 100
    auto_tiling = True  # False: whole images unless image_tile is set (a benchmark times whole frames)
    memory_budget: int | None = None  # bytes one piece may take (None: from the memory available)

    def auto_tile(self, lr_size: tuple[int, int]) -> tuple[int, int] | None:
        """The piece size (LR pixels) for an image of ``lr_size``, or None for the whole image.

        With a ``memory_budget``: the whole image if its run fits in it, else the largest square piece
        whose run does. Without one: the whole image if it fits in half the memory available now, else
        the largest piece that fits in a quarter of it (unknown memory: the whole image)."""
        if not self.auto_tiling:
            return None
        budget = self.memory_budget
        if budget is None:
            free = available_memory()
            if free is None or self._need(lr_size) <= free / 2:
                return None
            budget = free / 4
        elif self._need(lr_size) <= budget:
            return None
        from edgesr.inference import tile_margin

        margin = tile_margin(self.spec, self.scale, self.receptive_radius())
        for side in (2048, 1536, 1024, 768, 512, 384, 256, 192, 128, 96, 64):
            if self._need((side + 2 * margin,) * 2) <= budget:
                return side, side
        return 64, 64

    def network_pixels(self, lr_size: tuple[int, int]) -> int:
        """Pixels of the network's input for an LR image of ``lr_size`` (the bicubic upscale's for
        pre-upsampling networks)."""
        return lr_size[0] * lr_size[1] * (self.scale ** 2 if self.spec.upsampling == "pre" else 1)

    def _need(self, lr_size: tuple[int, int]) -> float:
        """Estimated bytes to upscale an LR image of ``lr_size`` in one piece."""
        net_pixels = self.network_pixels(lr_size)
        if self.tile is not None and self.fixed_shape:
            net_pixels = min(net_pixels, self.tile[0] * self.tile[1])
        return ((self.bytes_per_pixel or 0) * net_pixels
                + self.PIPELINE_BYTES_PER_PIXEL * lr_size[0] * lr_size[1] * self.scale ** 2)

    def run(self, x: np.ndarray, tiled: bool = True) -> np.ndarray:
        """Run the network on ``x`` (float32, ``1 x C x H x W`` on [0, 1]); returns float32 NCHW.
        A runner with a ``tile`` runs other sizes as overlapping tiles (``tiled=False``: not for a
        runner that can take any size)."""
        if not self.active:
            raise EdgesrError(f"{self.name} runner is not active; use it as a context manager (with ... as runner)")
        if not isinstance(x, np.ndarray) or x.ndim != 4 or x.shape[1] != self.channels:
            shape = getattr(x, "shape", None)
            raise EdgesrError(f"{self.name} runner takes N x {self.channels} x H x W input, got {shape}")
        x = np.ascontiguousarray(x, dtype=np.float32)
        tiled = tiled or self.fixed_shape
        if self.tile is None or not tiled:
            self._check_memory(x)
        if tiled and self.tile is not None and x.shape[2:] != tuple(self.tile):
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
                f"{free / 2**30:.1f} GiB available; run it in tiles (infer() does on its own; run(): tile= when "
                f"opening the runner) or on a smaller input")

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

"""The runner contract every format's runner follows: tensors in, tensors out.

A runner executes one network for one scale. ``run(x)`` takes float32 NCHW on [0, 1], checks it and
the runner's state, and calls the runner's ``_run``, which returns float32 NCHW. Images (colour,
the bicubic pre-upscale, pieces of large photos, rounding) are :mod:`edgesr.inference`'s business,
above any runner. Runners are context managers: heavy state (sessions, interpreters, engines) is
made in ``activate`` and released in ``deactivate``.

Nothing here imports PyTorch, a runtime or the image pipeline.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgesr.errors import ArtifactError, EdgesrError, ScaleError, first_line


class Runner:
    name = "base"
    pad = "edge"  # how an input smaller than one tile is padded up to it (numpy pad mode)
    bytes_per_pixel: float | None = None  # activation memory per network-input pixel, when known
    # how much of an image edgesr.inference.upscale hands the runner at once: ``image_tile`` (LR H, W)
    # when set, else pieces of at most ``memory_budget`` bytes (None: from the memory available);
    # ``auto_tiling = False``: whole images unless image_tile is set (a benchmark times whole frames)
    auto_tiling = True
    memory_budget: int | None = None

    def __init__(self, spec, scale: int, *, tile: tuple[int, int] | None = None, overlap: int = 0,
                 fixed: tuple[int, int] | None = None):
        """``spec`` says the network's colour, upsampling and scales (a model's ``ModelSpec`` or a
        manifest's ``spec()``). ``fixed`` is a fixed-shape artifact's own input size (H, W): ``run``
        takes other sizes as overlapping tiles of it. ``tile`` (LR H, W) bounds the pieces the image
        pipeline cuts; a runner that takes any size also runs ``run``'s inputs as tiles of that core
        plus ``overlap`` pixels of context on each side."""
        self.spec = spec
        self.channels = spec.channels
        self.image_tile = tuple(tile) if tile else None
        self.fixed_shape = fixed is not None
        if fixed is not None:
            self.tile = tuple(fixed)
        else:
            self.tile = (tile[0] + 2 * overlap, tile[1] + 2 * overlap) if tile else None
        self.overlap = overlap
        self.scale = scale
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

    def receptive_radius(self) -> int:
        """Network-input pixels an output pixel depends on, each side (0 where unknown)."""
        return self.overlap

    def network_pixels(self, lr_size: tuple[int, int]) -> int:
        """Pixels of the network's input for an LR image of ``lr_size`` (the bicubic upscale's for
        pre-upsampling networks)."""
        return lr_size[0] * lr_size[1] * (self.scale ** 2 if self.spec.upsampling == "pre" else 1)

    def run(self, x: np.ndarray, tiled: bool = True) -> np.ndarray:
        """Run the network on ``x`` (float32, ``N x C x H x W`` on [0, 1]); returns float32 NCHW.
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

    def _check_memory(self, x: np.ndarray) -> None:
        """Refuse a full-frame run that cannot fit in the memory available now."""
        if not self.bytes_per_pixel:
            return
        need = self.bytes_per_pixel * x.shape[0] * x.shape[2] * x.shape[3]
        free = available_memory()
        if free is not None and need > free:
            raise EdgesrError(
                f"a {x.shape[3]}x{x.shape[2]} input needs about {need / 2**30:.1f} GiB at once, more than the "
                f"{free / 2**30:.1f} GiB available; run it in tiles (edgesr.inference.upscale does on its own; "
                f"run(): tile= when opening the runner) or on a smaller input")

    def _run(self, x: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError


class ArtifactRunner(Runner):
    """A runner for an exported artifact, described by its manifest. ``head`` is the served scale's
    entry and tensors; a shared-trunk artifact switches between its heads without reloading.
    ``runtime_version`` names the runtime that ``activate`` loaded (e.g. ``"onnxruntime 1.23.2"``);
    ``_call(entry, feeds, output)`` is the one place the runtime is called (the device harness
    records and replays there)."""

    runtime_version = ""

    def __init__(self, artifact: str | Path, manifest, scale: int, *, tile: tuple[int, int] | None = None,
                 fixed: tuple[int, int] | None = None):
        self.artifact, self.manifest = Path(artifact), manifest
        self.head = manifest.head(scale)
        super().__init__(manifest.spec(), scale, tile=tile, overlap=manifest.receptive_radius or 0, fixed=fixed)

    def switch(self, scale: int) -> None:
        if len(self.manifest.scales) < 2:
            super().switch(scale)
        self._set_scale(scale, self.manifest.scales)
        self.head = self.manifest.head(scale)
        if self.active:
            self._select(self.head)

    def _select(self, head) -> None:
        """Make ``head`` the one ``_run`` calls (the runtime is loaded): none to make by default."""

    def _call(self, entry: str, feeds: dict[str, np.ndarray], output: str) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


class GraphRunner(ArtifactRunner):
    """A runner for one graph that takes any input size unless its manifest fixes one, on one of
    ``DEVICES`` (the runtime's names for them), the scale of a shared-trunk graph chosen by an int64
    input (ONNX Runtime, OpenVINO). ``_call`` is the subclass's."""

    DEVICES: dict[str, str] = {}

    def __init__(self, artifact: Path, manifest, scale: int, threads: int = 0, device: str = "cpu",
                 tile: tuple[int, int] | None = None):
        fixed = (manifest.input.height, manifest.input.width) if manifest.input.height else None
        super().__init__(artifact, manifest, scale, tile=tile, fixed=fixed)
        self.bytes_per_pixel = manifest.activation_bytes_per_pixel
        if device not in self.DEVICES:
            raise ArtifactError(f"device must be one of {', '.join(self.DEVICES)}, got {device!r}")
        self.threads, self.device = threads, device

    def _run(self, x: np.ndarray) -> np.ndarray:
        feed = {self.manifest.input.name: x}
        if self.manifest.scale_input:  # a shared-trunk artifact: the same loaded graph serves every scale
            feed[self.manifest.scale_input] = np.array(self.scale, dtype=np.int64)
        return self._call("", feed, self.manifest.output.name)


def cannot_load(artifact: Path, exc: BaseException) -> ArtifactError:
    """The one-line error for an artifact its runtime cannot load (corrupt, truncated, another file)."""
    return ArtifactError(f"cannot load {artifact}: {first_line(exc)}; re-export it")


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

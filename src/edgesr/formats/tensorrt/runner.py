"""Runs a TensorRT engine on an NVIDIA GPU, with CUDA buffers held by PyTorch tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgesr.errors import ArtifactError
from edgesr.formats.base import get_format
from edgesr.runtimes.base import ArtifactRunner, cannot_load


class TensorRTRunner(ArtifactRunner):
    name = "tensorrt"

    def __init__(self, artifact: Path, manifest, scale: int, tile: tuple[int, int] | None = None):
        """A fixed-shape engine runs at its size (``tile`` sizes the image pipeline's pieces); a
        dynamic one runs inputs larger than its profile's maximum as tiles of that maximum."""
        spec = manifest.input
        fixed = (spec.height, spec.width) if spec.height else None
        if fixed is None and tile is None and spec.sizes:
            radius = manifest.receptive_radius or 0
            tile = tuple(max(1, side - 2 * radius) for side in spec.sizes[-1])  # tiles with context fit the max
        super().__init__(artifact, manifest, scale, tile=tile, fixed=fixed)
        self.engine = self.context = None

    def activate(self) -> None:
        import torch

        trt = get_format(self.manifest.format).require("tensorrt")
        if not torch.cuda.is_available():
            raise ArtifactError(f"{self.artifact.name}: a TensorRT engine needs an NVIDIA GPU, and CUDA sees none")
        logger = trt.Logger(trt.Logger.WARNING)
        try:
            self.engine = trt.Runtime(logger).deserialize_cuda_engine(self.artifact.read_bytes())
        except Exception as exc:  # a damaged file can raise instead of returning None
            raise cannot_load(self.artifact, exc) from exc
        if self.engine is None:
            raise ArtifactError(f"{self.artifact.name}: TensorRT could not load the engine; engines only load with "
                                "the TensorRT version and GPU model that built them: re-export it here")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self._in, self._out = inputs[0], next(n for n in names if n not in inputs)
        self.runtime_version = f"tensorrt {trt.__version__}"
        super().activate()

    def deactivate(self) -> None:
        self.context = self.engine = None
        super().deactivate()

    def _run(self, x: np.ndarray) -> np.ndarray:
        import torch

        outs = []
        stream = torch.cuda.current_stream()
        for item in x:  # the profile has batch 1
            inp = torch.from_numpy(np.ascontiguousarray(item[None])).cuda()
            self.context.set_input_shape(self._in, tuple(inp.shape))
            out = torch.empty(tuple(self.context.get_tensor_shape(self._out)), dtype=torch.float32, device="cuda")
            self.context.set_tensor_address(self._in, inp.data_ptr())
            self.context.set_tensor_address(self._out, out.data_ptr())
            if not self.context.execute_async_v3(stream.cuda_stream):
                raise ArtifactError(f"{self.artifact.name}: TensorRT failed to run the engine")
            stream.synchronize()
            outs.append(out.cpu().numpy())
        return np.concatenate(outs)

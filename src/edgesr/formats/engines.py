"""Engines of the TensorRT family, TensorRT and TensorRT for RTX: one builder path and one runner for
both, each format passing its own module (``tensorrt`` or ``tensorrt_rtx``, the same Python API).

The engine is built from the ONNX graph edgesr writes for the same model (its ONNX format, through the
format table): FP32 as exported; FP16 as TensorRT's FP16 builder flag over the FP32 graph, or, for
strongly typed networks (TensorRT for RTX: precision comes from the graph, not from flags), the FP16
graph (float16 inside, float32 input and output); INT8 from the scheme's symmetric QDQ graph (zero
points of 0, float biases, the image float: what TensorRT's explicit quantization takes). One
optimization profile: min / opt / max input H and W (all equal for a fixed input size).
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np

from edgesr.errors import ArtifactError, ExportError
from edgesr.formats.base import Conversion, Exported, Format, get_format
from edgesr.formats.common import atomic_output
from edgesr.manifest import TensorSpec
from edgesr.runtimes.base import ArtifactRunner, cannot_load

DEFAULT_PROFILE = ((16, 16), (256, 256), (1024, 1024))  # min, opt, max input H x W when H and W are free


def build_engine(trt, onnx_path: Path, engine_path: Path, *, precision: str, channels: int,
                 profile: tuple[tuple[int, int], tuple[int, int], tuple[int, int]], strongly_typed: bool = False,
                 targets: tuple[str, ...] = (), workspace: int | None = 1 << 30) -> dict[str, list]:
    """Parse ``onnx_path`` with ``trt`` (TensorRT's or TensorRT for RTX's module) and write a serialized
    engine for NCHW inputs within ``profile``; ``targets``: the compute capabilities to build for
    (``SM89``, ...; none: the builder's default); ``workspace``: the builder's scratch memory limit
    (None: its default; TensorRT for RTX, building on a machine with no GPU, cannot allocate 1 GiB of it).
    Returns the network's inputs and outputs as parsed: (name, shape, dtype name) each."""
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED) if strongly_typed else 0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ExportError(f"{trt.__name__} could not parse {onnx_path.name}: {errors}")
    io = {"inputs": [network.get_input(i) for i in range(network.num_inputs)],
          "outputs": [network.get_output(i) for i in range(network.num_outputs)]}
    io = {k: [(t.name, tuple(t.shape), t.dtype.name) for t in v] for k, v in io.items()}
    config = builder.create_builder_config()
    if workspace is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace)
    shapes = builder.create_optimization_profile()
    shapes.set_shape(network.get_input(0).name, *((1, channels, h, w) for h, w in profile))
    config.add_optimization_profile(shapes)
    if not strongly_typed:  # weakly typed (TensorRT): precisions the builder may choose
        config.set_flag(trt.BuilderFlag.FP16)
        if precision == "int8":
            config.set_flag(trt.BuilderFlag.INT8)  # explicit: the graph's Q/DQ pairs carry the scales
    if targets:
        config.num_compute_capabilities = len(targets)
        for i, target in enumerate(targets):
            config.set_compute_capability(trt.ComputeCapability.__members__[target.upper()], i)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise ExportError(f"{trt.__name__} failed to build an engine from {onnx_path.name}; its log above says why")
    with atomic_output(engine_path) as tmp:
        tmp.write_bytes(bytes(plan))
    return io


def export_engine(format_: Format, model, out: Path, job: Conversion, *, strongly_typed: bool) -> Exported:
    """ONNX export (the graph this precision takes, see the module's docstring), then one engine for
    ``job.input_size`` or ``job.profile``; one scale."""
    trt = format_.require()  # fail before the ONNX export when the builder is missing
    scale, input_size = job.scales[0], job.input_size
    profile = (tuple(input_size),) * 3 if input_size is not None else job.profile or DEFAULT_PROFILE
    graph_precision = {"int8": "int8", "fp16": "fp16" if strongly_typed else "fp32"}.get(job.precision, "fp32")
    graph = replace(job, precision=graph_precision, symmetric=True,
                    pure_int8=True)  # explicit quantization takes int8 QDQ only
    with tempfile.TemporaryDirectory() as d:
        onnx_path = Path(d) / "net.onnx"
        get_format("onnx").export(model, onnx_path, graph)
        io = build_engine(trt, onnx_path, out, precision=job.precision, channels=model.spec.channels, profile=profile,
                     strongly_typed=strongly_typed, targets=job.targets, workspace=None if strongly_typed else 1 << 30)
    channels = model.spec.channels
    parsed = [(name, shape[:2], dtype) for name, shape, dtype in io["inputs"] + io["outputs"]]
    if parsed != [("input", (1, channels), "FLOAT"), ("output", (1, channels), "FLOAT")]:
        out.unlink(missing_ok=True)
        raise ExportError(f"the {format_.name} network's I/O is {parsed}, not one float32 input and output of "
                          f"{channels} channels named input and output")
    f = 1 if model.spec.upsampling == "pre" else scale
    h, w = input_size or (None, None)
    sizes = () if input_size else tuple(profile)
    return Exported(TensorSpec("input", "NCHW", "float32", channels, h, w, sizes=sizes),
                    TensorSpec("output", "NCHW", "float32", channels, h * f if h else None, w * f if w else None,
                               sizes=tuple((a * f, b * f) for a, b in sizes)),
                    targets=tuple(job.targets))


class EngineRunner(ArtifactRunner):
    """Runs an engine on an NVIDIA GPU, with CUDA buffers held by PyTorch tensors."""

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

    def check_gpu(self, torch) -> None:
        """Refuse, in one line, a machine whose GPU cannot run this engine."""
        if not torch.cuda.is_available():
            raise ArtifactError(f"{self.artifact.name}: a {self.manifest.format} engine needs an NVIDIA GPU, and CUDA "
                                "sees none")

    def activate(self) -> None:
        import torch

        format_ = get_format(self.manifest.format)
        trt = format_.require()
        self.check_gpu(torch)
        logger = trt.Logger(trt.Logger.WARNING)
        try:
            self.engine = trt.Runtime(logger).deserialize_cuda_engine(self.artifact.read_bytes())
        except Exception as exc:  # a damaged file can raise instead of returning None
            raise cannot_load(self.artifact, exc) from exc
        if self.engine is None:
            raise ArtifactError(f"{self.artifact.name}: {format_.runtime} could not load the engine; engines only load "
                                "with the version and GPU model that built them: re-export it here")
        self.context = self.engine.create_execution_context()
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        inputs = [n for n in names if self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        self._in, self._out = inputs[0], next(n for n in names if n not in inputs)
        self.runtime_version = f"{format_.runtime} {trt.__version__}"
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
                raise ArtifactError(f"{self.artifact.name}: the engine failed to run")
            stream.synchronize()
            outs.append(out.cpu().numpy())
        return np.concatenate(outs)

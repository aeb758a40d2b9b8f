"""ExecuTorch export (.pte): ``torch.export`` -> ``to_edge_transform_and_lower`` with the XNNPACK
partitioner -> ``to_executorch``. FP32 runs as XNNPACK's float kernels; INT8 is edgesr's INT8 scheme
(``edgesr.train.qat``) through PT2E static quantization with ExecuTorch's XNNPACK quantizer: int8
activations per tensor over edgesr's ranges (min/max observers, then the ranges QAT trained with set
in the observers they match), the scheme's 63-step symmetric per-channel weights, then lowered to
XNNPACK's integer kernels.

Shapes are fixed (the network input ``input_size``): larger images run as tiles. Dynamic H and W
export and match PyTorch, but ExecuTorch plans memory for the upper bound: masrn x4 with H, W up to
1024 took 8.2 GB of RSS and 18 s for its first call. A multi-scale model can be written as one
program with one method per scale ("x2", "x3", ...); XNNPACK keeps constants in the program's named
data by content, so the methods share the trunk's weights (masrn FP32: 0.97 MB for x2/x3/x4, 0.91 MB
for x4 alone).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgesr._deps import require
from edgesr.errors import ExportError
from edgesr.formats.base import Conversion, Exported
from edgesr.formats.common import atomic_output
from edgesr.manifest import Head, TensorSpec
from edgesr.models.scale import network_for_scale

INPUT, OUTPUT = "input", "output"
METHOD = "forward"  # the method of a single-scale program


def _quantizer():
    """ExecuTorch's XNNPACK quantizer set to edgesr's INT8 scheme (``edgesr.train.qat``): weights
    symmetric per channel on the scheme's 63-step grid; activations int8 asymmetric per tensor
    (the grid of uint8 over the same range) observed by min/max, edgesr's ranges then set in the
    observers they match (:func:`_program`)."""
    import dataclasses

    from torchao.quantization.pt2e.observer import MinMaxObserver

    from edgesr.train.qat import WEIGHT_LEVELS

    module = require("executorch.backends.xnnpack.quantizer.xnnpack_quantizer", "executorch")
    config = module.get_symmetric_quantization_config(is_per_channel=True, weight_qmin=-WEIGHT_LEVELS,
                                                      weight_qmax=WEIGHT_LEVELS)
    act = dataclasses.replace(config.input_activation, observer_or_fake_quant_ctr=MinMaxObserver.with_args(eps=2 ** -12))
    quantizer = module.XNNPACKQuantizer()
    quantizer.set_global(dataclasses.replace(config, input_activation=act, output_activation=act))
    return quantizer


def _on_grid(net: nn.Module) -> nn.Module:
    """A copy of ``net`` whose conv weights are already on the scheme's grid
    (:func:`edgesr.train.qat.fake_quant_weight`): the quantizer's per-channel min/max then finds each
    channel's scale again and rounds every weight to the integer QAT trained it at."""
    import copy

    from edgesr.train.qat import fake_quant_weight

    net = copy.deepcopy(net)
    with torch.no_grad():
        for conv in net.modules():
            if isinstance(conv, nn.Conv2d):
                conv.weight.copy_(fake_quant_weight(conv.weight))
    return net


def _observed(prepared: nn.Module, probe: np.ndarray) -> dict[str, np.ndarray]:
    """The value that reaches each activation observer of ``prepared`` on ``probe``, by name."""
    from torchao.quantization.pt2e.observer import MinMaxObserver

    seen: dict[str, np.ndarray] = {}

    def record(name: str):
        def hook(module, args) -> None:  # a pre-hook that returns something replaces the input
            seen.setdefault(name, args[0].detach().float().numpy().copy())
        return hook

    hooks = [m.register_forward_pre_hook(record(name)) for name, m in prepared.named_modules()
             if type(m) is MinMaxObserver]
    try:
        with torch.no_grad():
            prepared(torch.as_tensor(probe))
    finally:
        for h in hooks:
            h.remove()
    return seen


def _program(net: nn.Module, sample: torch.Tensor, precision: str, calibration: list[np.ndarray] | None,
             points: list | None = None):
    """``net`` as an exported program at ``sample``'s shape; INT8: quantized (PT2E) on ``calibration``,
    the weights on the scheme's grid, and edgesr's ranges (``points``) for the tensors they match.
    Points hold the float network's values, so they are matched in a float copy of the same graph,
    whose observers have the same names."""
    with torch.no_grad():
        program = torch.export.export(_on_grid(net) if precision == "int8" else net, (sample,))
    if precision == "fp32":
        return program
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

    from edgesr.formats.ranges import match_point

    prepared = prepare_pt2e(program.module(), _quantizer())
    with torch.no_grad():
        for x in calibration:  # min/max, for tensors no point matches
            prepared(torch.as_tensor(x))
        if points:
            observers = dict(prepared.named_modules())
            float_graph = prepare_pt2e(torch.export.export(net, (sample,)).module(), _quantizer())
            for name, value in _observed(float_graph, calibration[0]).items():
                point = match_point(value, points, nhwc=False)
                if point is not None:
                    observers[name].min_val.fill_(point[1])
                    observers[name].max_val.fill_(point[2])
        quantized = convert_pt2e(prepared)
        return torch.export.export(quantized, (sample,))


def _lower(programs: dict[str, object], path: Path) -> None:
    """Lower ``programs`` (method name -> exported program) to XNNPACK and write one .pte."""
    exir = require("executorch.exir", "executorch")
    partitioner = require("executorch.backends.xnnpack.partition.xnnpack_partitioner", "executorch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        edge = exir.to_edge_transform_and_lower(programs, partitioner=[partitioner.XnnpackPartitioner()])
        program = edge.to_executorch()
    with open(path, "wb") as f:
        program.write_to_file(f)


def _check(precision: str, input_size, calibrated) -> tuple[int, int]:
    if input_size is None:
        raise ExportError("executorch needs a fixed input size (--input-size HxW)")
    if precision not in ("fp32", "int8"):
        raise ExportError(f"executorch takes fp32 or int8, not {precision!r}")
    if precision == "int8" and not calibrated:
        raise ExportError("int8 export needs calibration inputs (for every scale)")
    return tuple(input_size)


def _specs(channels: int, size: tuple[int, int], factor: int) -> tuple[TensorSpec, TensorSpec]:
    h, w = size
    return (TensorSpec(INPUT, "NCHW", "float32", channels, h, w),
            TensorSpec(OUTPUT, "NCHW", "float32", channels, h * factor, w * factor))


def _points(model: nn.Module, scale: int, precision: str, calibration, range_inputs) -> list | None:
    """edgesr's rounding points at ``scale`` (INT8), probed with the first calibration input."""
    if precision != "int8":
        return None
    from edgesr.formats.ranges import range_points

    return range_points(model, scale, range_inputs or calibration, calibration[0], pure_int8=True)


def export_executorch(model: nn.Module, out: Path, job: Conversion) -> Exported:
    """Write ``model`` at ``job.scales`` to ``out`` for a fixed network input ``job.input_size`` (H, W):
    one scale as one method (``forward``), several as one program with a method per scale ("x2",
    "x3", ...), each the whole network at that scale. INT8: each scale is calibrated on its own
    inputs, with edgesr's ranges at that scale, measured on ``job.range_inputs`` (default: the
    calibration inputs)."""
    calibration, range_inputs, precision = job.calibration, job.range_inputs or {}, job.precision
    size = _check(precision, job.input_size, all(calibration.get(s) for s in job.scales))
    channels = model.spec.channels
    sample = torch.rand(1, channels, *size)
    method = {s: f"x{s}" if job.shared else METHOD for s in job.scales}
    programs = {method[s]: _program(network_for_scale(model, s), sample, precision, calibration.get(s),
                                    _points(model, s, precision, calibration.get(s), range_inputs.get(s)))
                for s in job.scales}
    with atomic_output(out) as tmp:
        _lower(programs, tmp)
    specs = {s: _specs(channels, size, 1 if model.spec.upsampling == "pre" else s) for s in job.scales}
    if not job.shared:
        return Exported(*specs[job.scales[0]])
    heads = tuple(Head(s, method[s], *specs[s]) for s in job.scales)
    return Exported(heads[0].input, heads[0].output, heads)

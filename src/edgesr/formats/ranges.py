"""INT8 activation ranges computed once, in PyTorch, and written into every format's artifact.

The ranges come from ``edgesr.train.qat.QuantSim``: each tensor the runtimes round gets the
``clip`` / ``1 - clip`` quantiles of its values over the calibration inputs, the image input and
output [0, 1]. Quantization-aware training uses the same code, so an artifact carries the ranges its
weights were trained with, whatever the format.

The graphs name their tensors differently (torch.fx, ONNX, LiteRT), so the ranges travel by value:
one calibration input runs through the float PyTorch network and through the float artifact, and
each artifact tensor that holds the same values as a rounding point (same shape, equal to float
error) takes that point's range and width (8 bits, or 16 inside the model's ``int16_modules``).
Tensors that match nothing keep the converter's own min/max, at 8 bits.
"""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch import nn

Point = tuple[np.ndarray, float, float, int]  # the value (NCHW) at a rounding point, its range, its bits
Range = tuple[float, float, int]  # an artifact tensor's range and bits

# calibrated simulations by what they were calibrated from (the network and its weights, the scale,
# the inputs, the options): exports of one model to several formats in one process measure its
# ranges once (asym_vdsr x4 on 64 whole T91 images: 50 s each time on a 2-core AMD EPYC)
_CALIBRATED: OrderedDict[str, object] = OrderedDict()
_KEEP = 4


def _calibration_key(model: nn.Module, scale: int, inputs: list[np.ndarray], options) -> str:
    h = hashlib.sha256(repr((type(model).__qualname__, repr(model), scale, repr(options))).encode())
    for name, tensor in model.state_dict().items():
        h.update(name.encode() + b"\0" + tensor.detach().cpu().numpy().tobytes())
    for x in inputs:
        x = np.ascontiguousarray(x)
        h.update(repr((x.shape, x.dtype.str)).encode() + x.tobytes())
    return h.hexdigest()


def range_points(model: nn.Module, scale: int, inputs: list[np.ndarray], probe: np.ndarray,
                 clip: float | None = None, pure_int8: bool = False) -> list[Point]:
    """Calibrate the rounding points of ``model`` at ``scale`` on ``inputs`` (network inputs, any
    sizes: ``calibration_images``) and probe them with ``probe`` (an input of the graph's shape).
    With ``pure_int8`` every point is 8-bit, even in the model's ``int16_modules``."""
    from edgesr.train.qat import QATOptions, QuantSim

    options = QATOptions(pure_int8=pure_int8, **({} if clip is None else {"clip": clip}))
    key = _calibration_key(model, scale, inputs, options)
    sim = _CALIBRATED.pop(key, None)
    if sim is None:  # calibrated on a copy: a later change to the caller's model cannot reach the cache
        sim = QuantSim(copy.deepcopy(model).eval(), (scale,), options)
        sim.set_calibration(scale, inputs)
        sim.calibrate()
    _CALIBRATED[key] = sim
    while len(_CALIBRATED) > _KEEP:
        _CALIBRATED.popitem(last=False)
    return sim.probe(scale, torch.as_tensor(probe))


def match_point(value: np.ndarray, points: list[Point], nhwc: bool) -> Point | None:
    """The first point holding ``value`` (also as NHWC with ``nhwc``: LiteRT's graphs hold both
    layouts), else the first whose values ``value`` rearranges (same values, another shape: a
    pixel shuffle's output, where a graph starts after it)."""
    for point in points:
        refs = [point[0]] + ([point[0].transpose(0, 2, 3, 1)] if nhwc and point[0].ndim == 4 else [])
        for ref in refs:
            if ref.shape == value.shape and _close(ref, value):
                return point
    for point in points:
        if point[0].size == value.size and point[0].shape != value.shape:
            if _close(np.sort(point[0], axis=None), np.sort(value, axis=None)):
                return point
    return None


def _close(ref: np.ndarray, value: np.ndarray) -> bool:
    tol = 1e-4 + 1e-3 * float(np.abs(ref).max())
    return float(np.abs(ref - value).max()) <= tol


def merge(tables: list[dict[str, Range]]) -> dict[str, Range]:
    """One range per tensor from several tables (the union, and the wider width: a tensor shared by
    several scales)."""
    out: dict[str, Range] = {}
    for table in tables:
        for name, (lo, hi, bits) in table.items():
            a, b, c = out.get(name, (lo, hi, bits))
            out[name] = (min(a, lo), max(b, hi), max(c, bits))
    return out


def onnx_ranges(path: Path, feeds: dict[str, np.ndarray], points: list[Point]) -> dict[str, Range]:
    """{tensor name: (lo, hi)} for the float ONNX model at ``path``, matched on ``feeds``."""
    import onnx
    import onnxruntime as ort

    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    floats = {v.name for v in list(model.graph.value_info) + list(model.graph.output)
              if v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT}
    have = {o.name for o in model.graph.output}
    extra = [v for v in model.graph.value_info if v.name in floats and v.name not in have]
    model.graph.output.extend(extra)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    values = dict(zip(names, session.run(names, feeds)))
    values.update(feeds)
    table = {}
    for name, value in values.items():
        if name in floats or name in feeds:
            point = match_point(np.asarray(value), points, nhwc=False)
            if point is not None:
                table[name] = point[1:]
    # a ReLU after a convolution is fused into it: the convolution's output is rounded with the
    # ReLU's range (lo = 0), so it takes that range too
    consumers: dict[str, int] = {}
    for node in model.graph.node:
        for i in node.input:
            consumers[i] = consumers.get(i, 0) + 1
    for node in model.graph.node:
        if node.op_type == "Relu" and node.output[0] in table and consumers.get(node.input[0]) == 1:
            table[node.input[0]] = table[node.output[0]]
    # ops that only move values keep their input's range (in graph order, so chains of them follow)
    for node in model.graph.node:
        if node.op_type in _MOVES and node.input and node.input[0] in table and node.output[0] not in table:
            table[node.output[0]] = table[node.input[0]]
    return table


_MOVES = {"Tile", "Resize", "DepthToSpace", "SpaceToDepth", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten",
          "Identity", "Expand"}


def tflite_ranges(path: Path, signature: str, x_nchw: np.ndarray, points: list[Point]) -> dict[str, Range]:
    """{tensor name: (lo, hi)} for one signature of the float LiteRT model at ``path``."""
    import warnings

    from ai_edge_litert.interpreter import Interpreter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "preserve all tensors is for debugging": it is what this needs
        it = Interpreter(model_path=str(path), experimental_preserve_all_tensors=True)
    runner = it.get_signature_runner(signature)
    (name_in, _), = runner.get_input_details().items()
    runner(**{name_in: np.ascontiguousarray(x_nchw.transpose(0, 2, 3, 1), dtype=np.float32)})
    subgraph = runner._subgraph_index
    table = {}
    for detail in it.get_tensor_details(subgraph):
        if np.dtype(detail["dtype"]) != np.float32:
            continue
        try:
            value = it.get_tensor(detail["index"], subgraph)
        except ValueError:  # tensors with no data (constants folded away)
            continue
        point = match_point(value, points, nhwc=True)
        if point is not None:
            table[detail["name"]] = point[1:]
    return table


def fx_ranges(program, points: list[Point], probe: np.ndarray, inputs: list[np.ndarray]) -> dict[str, Range]:
    """{node name: range} for the float nodes of a ``torch.export`` program (Core ML's converter
    names its tensors after them). A node holding a rounding point's values on ``probe`` takes that
    point's range and width; every other node takes its min/max over ``inputs``, at 8 bits (Core ML
    needs a range for each tensor it may round)."""
    module = program.module()
    lows: dict[str, float] = {}
    highs: dict[str, float] = {}
    table: dict[str, Range] = {}

    def match(name: str, value: torch.Tensor) -> None:
        point = match_point(value.detach().float().numpy(), points, nhwc=False)
        if point is not None:
            table[name] = point[1:]

    def extend(name: str, value: torch.Tensor) -> None:  # no copy kept: a node's min and max only
        lows[name] = min(lows.get(name, np.inf), float(value.min()))
        highs[name] = max(highs.get(name, -np.inf), float(value.max()))

    class Recorder(torch.fx.Interpreter):
        def __init__(self, record):
            super().__init__(module)
            self.record = record

        def run_node(self, node):
            out = super().run_node(node)
            if isinstance(out, torch.Tensor) and out.is_floating_point():
                self.record(node.name, out)
            return out

    with torch.no_grad():
        Recorder(match).run(torch.as_tensor(probe))
        for x in inputs or [probe]:
            Recorder(extend).run(torch.as_tensor(x))
    for name in lows:
        table.setdefault(name, (lows[name], highs[name], 8))
    return table

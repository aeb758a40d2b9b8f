"""ONNX export: the official ``torch.onnx`` (dynamo) exporter, simplified with onnxslim; INT8 as
static QDQ through ``onnxruntime.quantization`` in edgesr's INT8 scheme (``edgesr.train.qat``):
edgesr's activation ranges, the scheme's 63-step per-channel weights, float biases; the same graph
with symmetric activations is TensorRT's (``symmetric``)."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from edgesr._deps import require
from edgesr.formats.base import Conversion, Exported
from edgesr.formats.common import atomic_output
from edgesr.formats.ranges import merge, onnx_ranges, range_points
from edgesr.manifest import Head, TensorSpec
from edgesr.models.scale import network_for_scale

INPUT, OUTPUT, SCALE = "input", "output", "scale"
_ACTIVATION_BITS = {"int8": 8, "w8a16": 16}


def _to_onnx(net: nn.Module, channels: int, size: tuple[int, int] | None, path: Path) -> None:
    sample = torch.rand(1, channels, *(size or (64, 64)))
    _export_graph(net, (sample,), [INPUT], [OUTPUT], dynamic=size is None, path=path)


def _export_graph(net: nn.Module, samples: tuple[torch.Tensor, ...], inputs: list[str], outputs: list[str],
                  dynamic: bool, path: Path) -> None:
    """torch.onnx (dynamo) + onnxslim; with ``dynamic``, every input's H and W are free (and equal
    across inputs, which all have the same spatial size)."""
    onnx = require("onnx", "onnx")
    require("onnxscript", "onnx")
    shapes = None
    if dynamic:
        h, w = torch.export.Dim("height", min=4, max=8192), torch.export.Dim("width", min=4, max=8192)
        shapes = tuple({2: h, 3: w} for _ in samples)
        if isinstance(net, _Part):  # forward(*xs): one argument holding the tensors
            shapes = (shapes,)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, samples, str(path), dynamo=True, external_data=False, optimize=True,
                          input_names=inputs, output_names=outputs, dynamic_shapes=shapes, verbose=False)
    model = onnx.load(str(path))
    slim = require("onnxslim", "onnx")
    model = slim.slim(model)
    onnx.save(model, str(path))


def _to_fp16(path: Path) -> None:
    onnx = require("onnx", "onnx")
    from onnxruntime.transformers.float16 import convert_float_to_float16

    onnx.save(convert_float_to_float16(onnx.load(str(path)), keep_io_types=True), str(path))


def _quantize(src: Path, dst: Path, calibration: list[np.ndarray] | list[dict[str, np.ndarray]],
              symmetric: bool = False, activation_bits: int = 8,
              ranges: Callable[[Path], dict[str, tuple[float, float, int]]] | None = None) -> None:
    """Static QDQ with per-channel int8 weights; ``calibration`` holds input arrays, or feeds (name ->
    array) for several inputs.

    INT8 (``activation_bits`` 8) is edgesr's scheme (``edgesr.train.qat``): activations asymmetric
    uint8 per tensor over the ranges edgesr computed (``ranges``: ``edgesr.formats.ranges``, for the
    tensors of the pre-processed graph it is handed; a tensor that matches nothing keeps the
    calibration's min/max), or with ``symmetric`` int8 with zero points of 0 over the same ranges
    made symmetric (what TensorRT takes); weights re-rounded onto the scheme's grid
    (:func:`_weights_on_grid`); biases int32 on the input's scale times the weight's (with
    ``symmetric`` float, as TensorRT takes no other; ONNX Runtime given a float bias computed
    0.99 grey levels (mean) away from the graph's own float arithmetic on masrn x4, 0.05 with an
    int32 one). A 16-bit range (a model's ``int16_modules``) gets uint16 QDQ
    inside the 8-bit graph. W8A16 (``activation_bits`` 16): uint16 activations (min/max; opset 21,
    the first with 16-bit QuantizeLinear) and 8-bit weights."""
    quant = require("onnxruntime.quantization", "onnx", "onnxruntime")
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(quant.CalibrationDataReader):
        def __init__(self, feeds: list) -> None:
            self._items = iter([x if isinstance(x, dict) else {INPUT: x} for x in feeds])

        def get_next(self):
            return next(self._items, None)

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
        table = ranges(pre) if ranges else {}
        overrides = {name: [{"rmin": np.float32(lo), "rmax": np.float32(hi),
                             **({"quant_type": quant.QuantType.QUInt16} if bits == 16 and activation_bits == 8 else {})}]
                     for name, (lo, hi, bits) in table.items()}
        # every activation's range is edgesr's: the calibration's min/max would all be overridden, so one
        # input is run, not all (the same graph; asym_vdsr x4: about 1.5 s per 256x256 input)
        feeds = calibration[:1] if table and _activations(pre) <= table.keys() else calibration
        activations = quant.QuantType.QInt8 if symmetric else quant.QuantType.QUInt8
        if activation_bits == 16:
            activations = quant.QuantType.QUInt16
        options = {"ActivationSymmetric": symmetric, "WeightSymmetric": True,
                   **({"TensorQuantOverrides": overrides} if overrides else {})}
        if activation_bits == 8:
            options["QuantizeBias"] = not symmetric  # TensorRT takes float biases only
        quant.quantize_static(str(pre), str(dst), Reader(feeds), quant_format=quant.QuantFormat.QDQ, per_channel=True,
                              activation_type=activations, weight_type=quant.QuantType.QInt8,
                              calibrate_method=quant.CalibrationMethod.MinMax, extra_options=options)
        if activation_bits == 8:
            _weights_on_grid(dst, pre)
        if symmetric:
            _image_in_float(dst)


def _activations(path: Path) -> set[str]:
    """The activations of the graph at ``path``: its inputs and its nodes' outputs, not its weights."""
    onnx = require("onnx", "onnx")
    graph = onnx.load(str(path)).graph
    weights = {i.name for i in graph.initializer}
    return ({o for n in graph.node for o in n.output} | {i.name for i in graph.input}) - weights - {""}


# ops that only move an image's values (its nearest upsampling, a pixel shuffle): their output is the image too
_IMAGE_MOVES = ("Resize", "DepthToSpace", "SpaceToDepth", "Tile", "Reshape", "Transpose", "Identity")


def _image_in_float(path: Path) -> None:
    """Take the quantize/dequantize pairs off the image in the symmetric graph at ``path``: the input,
    what only moves its values (masrn's nearest-upsampled residual) and the output stay float. Symmetric
    int8 gives the image's [0, 1] 127 steps, twice an 8-bit pixel's: on masrn x2 the rounded input and
    residual and the rounded output cost 0.23 dB on Set5 (0.07 with them float). What reads the image
    (a 3-channel convolution, the final addition) is a small part of the work; TensorRT runs it in float."""
    onnx = require("onnx", "onnx")
    model = onnx.load(str(path))
    graph = model.graph
    image = {i.name for i in graph.input}
    outputs = {o.name for o in graph.output}

    def readers(name: str) -> list:
        return [n for n in graph.node if name in n.input]

    def bypass(q) -> bool:
        """Remove ``q`` and the DequantizeLinear nodes reading it; their readers read ``q``'s input."""
        dqs = readers(q.output[0])
        if not dqs or any(d.op_type != "DequantizeLinear" for d in dqs):
            return False
        for d in dqs:
            for n in graph.node:
                n.input[:] = [q.input[0] if i == d.output[0] else i for i in n.input]
            if d.output[0] in outputs:  # the graph's output: its producer writes it directly
                for n in graph.node:
                    n.output[:] = [d.output[0] if o == q.input[0] else o for o in n.output]
                for n in graph.node:
                    n.input[:] = [d.output[0] if i == q.input[0] else i for i in n.input]
            graph.node.remove(d)
        graph.node.remove(q)
        return True

    changed = True
    while changed:
        changed = False
        for node in list(graph.node):
            if node.op_type == "QuantizeLinear" and node.input[0] in image and bypass(node):
                changed = True
            elif node.op_type in _IMAGE_MOVES and node.input[0] in image and node.output[0] not in image:
                image.add(node.output[0])
                changed = True
    for name in list(outputs):  # the output: Q -> DQ -> output
        dq = next((n for n in graph.node if name in n.output), None)
        if dq is not None and dq.op_type == "DequantizeLinear":
            q = next((n for n in graph.node if dq.input[0] in n.output), None)
            if q is not None and q.op_type == "QuantizeLinear":
                bypass(q)
    onnx.save(model, str(path))


def _weights_on_grid(path: Path, floats: Path) -> None:
    """Re-round every int8 weight of the QDQ graph at ``path`` from its float value in ``floats``
    onto the INT8 scheme's grid: symmetric per output channel, ``WEIGHT_LEVELS`` steps each side of
    0 (:func:`edgesr.train.qat.quantize_weight`, what quantization-aware training rounds to), so
    the artifact computes with the weights its training saw. The values fit in 7 bits, which no
    x86 int8 kernel can overflow (``edgesr.train.qat``)."""
    onnx = require("onnx", "onnx")
    from onnx import numpy_helper

    from edgesr.train.qat import quantize_weight

    model, float_graph = onnx.load(str(path)), onnx.load(str(floats)).graph
    source = {i.name: i for i in float_graph.initializer}
    # each conv's float weight and bias found by the conv's node name (the quantizer keeps it; not its
    # output, which becomes a removed ReLU's), not by the quantized initializer's name: the quantizer
    # numbers those when one float initializer feeds two convs (the exporter merges equal ones: a user
    # model's two biases that train alike did, 'tail.bias0')
    float_inputs = {n.name: n.input for n in float_graph.node if n.op_type == "Conv" and n.name}

    def float_input(conv, i: int, quantized: str) -> np.ndarray:
        name = float_inputs[conv.name][i] if conv.name in float_inputs else quantized.removesuffix("_quantized")
        return numpy_helper.to_array(source[name])

    inits = {i.name: i for i in model.graph.initializer}
    producer = {out: node for node in model.graph.node for out in node.output}

    def dequantized(name: str, dtype: int):
        """The DequantizeLinear writing ``name`` from an initializer of ``dtype``, if one does."""
        node = producer.get(name)
        if node is not None and node.op_type == "DequantizeLinear" and node.input[0] in inits \
                and inits[node.input[0]].data_type == dtype:
            return node
        return None

    def put(name: str, value: np.ndarray) -> None:
        inits[name].CopyFrom(numpy_helper.from_array(value, name))

    for conv in [n for n in model.graph.node if n.op_type == "Conv"]:
        weights = dequantized(conv.input[1], onnx.TensorProto.INT8)
        if weights is None:
            continue
        name = weights.input[0]
        if next((a.i for a in weights.attribute if a.name == "axis"), 1) != 0:
            raise ValueError(f"{name}: per-channel weights not on axis 0 (output channels)")
        q, scale = quantize_weight(float_input(conv, 1, name))
        put(name, q)
        put(weights.input[1], scale)
        bias = dequantized(conv.input[2], onnx.TensorProto.INT32) if len(conv.input) > 2 else None
        if bias is not None:  # int32 on the input's scale times each channel's weight scale
            step = (scale * numpy_helper.to_array(inits[producer[conv.input[0]].input[1]])).astype(np.float32)
            b = float_input(conv, 2, bias.input[0]).astype(np.float64)
            put(bias.input[0], np.rint(b / step).astype(np.int32))
            put(bias.input[1], step)
    onnx.save(model, str(path))


def export_onnx(model: nn.Module, out: Path, job: Conversion) -> Exported:
    """Write ``model`` at ``job.scales`` to ``out``: one scale as one graph, several as one graph whose
    int64 input ``scale`` chooses the head (below). ``job.input_size`` (the network's H, W) fixes the
    shape, ``None`` keeps H and W dynamic. INT8 activation ranges are measured on ``job.range_inputs``
    (default: the calibration inputs); the model's ``int16_modules`` keep 16-bit activations unless
    ``job.pure_int8``; ``job.symmetric`` writes the INT8 scheme's symmetric form (TensorRT's)."""
    if job.precision in _ACTIVATION_BITS and not job.calibration:
        raise ValueError(f"{job.precision} export needs calibration inputs")
    return _switched_graph(model, out, job) if job.shared else _graph(model, out, job)


def _graph(model: nn.Module, out: Path, job: Conversion) -> Exported:
    """One scale: the network as one graph."""
    scale, precision, input_size = job.scales[0], job.precision, job.input_size
    net = network_for_scale(model, scale)
    channels = model.spec.channels
    with atomic_output(out) as tmp:
        if precision in _ACTIVATION_BITS:
            calibration = job.calibration[scale]
            with tempfile.TemporaryDirectory() as d:
                fp32 = Path(d) / "fp32.onnx"
                _to_onnx(net, channels, input_size, fp32)
                ranges = None
                if precision == "int8":  # W8A16's 65536 levels need no clipping: min/max
                    range_inputs = job.range_inputs[scale] if job.range_inputs else None
                    points = range_points(model, scale, range_inputs or calibration, calibration[0],
                                          pure_int8=bool(job.pure_int8))
                    ranges = lambda pre: onnx_ranges(pre, {INPUT: calibration[0]}, points)  # noqa: E731
                _quantize(fp32, tmp, calibration, job.symmetric, _ACTIVATION_BITS[precision], ranges)
        elif precision == "fp16":
            _to_onnx(net, channels, input_size, tmp)
            _to_fp16(tmp)
        else:
            _to_onnx(net, channels, input_size, tmp)
    h, w = input_size or (None, None)
    f = 1 if model.spec.upsampling == "pre" else scale
    return Exported(TensorSpec(INPUT, "NCHW", "float32", channels, h, w),
                    TensorSpec(OUTPUT, "NCHW", "float32", channels, h * f if h else None, w * f if w else None))


# --- the shared-trunk artifact: one graph, the scale chosen by an input ------------------------------
#
# ONNX Runtime executes every node of a graph whatever outputs are asked for, so "one output per
# scale" would run every head. Instead the graph is trunk -> If(scale) -> tail: the trunk and the tail
# are stored and run once, and the If runs only the chosen scale's branch (its Upscale head and the
# nearest-upsampled input). The parts are exported (and, for INT8, calibrated and quantized) one by
# one with torch.onnx, then joined; names inside each part get the part's prefix.

class _Part(nn.Module):
    """One method of a multi-scale model (``trunk``, ``branch``, ``tail``) as a module to export."""

    def __init__(self, model: nn.Module, method: str, *args):
        super().__init__()
        self.model, self.method, self.args = model, method, args

    def forward(self, *xs: torch.Tensor):
        return getattr(self.model, self.method)(*xs, *self.args)


_FEATURES, _UPSCALED, _BASE = "features", "upscaled", "base"


def _prefixed(graph, prefix: str, keep: set[str]):
    """``graph`` with every name it defines (node outputs, initializers, node names) prefixed,
    except the names in ``keep``; names it only reads from outside stay as they are."""
    import onnx

    g = onnx.GraphProto()
    g.CopyFrom(graph)
    defined = {o for n in g.node for o in n.output} | {i.name for i in g.initializer}
    rename = {name: prefix + name for name in defined if name and name not in keep}
    for init in g.initializer:
        init.name = rename.get(init.name, init.name)
    for node in g.node:
        node.name = prefix + node.name
        node.input[:] = [rename.get(n, n) for n in node.input]
        node.output[:] = [rename.get(n, n) for n in node.output]
    for info in list(g.value_info) + list(g.output):
        info.name = rename.get(info.name, info.name)
    return g


def _switch(scales: tuple[int, ...], branches: dict, outputs: list[str]) -> list:
    """Nodes that run ``branches[s]`` for the ``s`` fed as the scale input, writing ``outputs``
    (two scales or more). The last scale is the final else: the runner checks the scale against
    the manifest."""
    from onnx import TensorProto, helper

    s, rest = scales[0], scales[1:]
    if len(rest) == 1:
        otherwise = branches[rest[0]]
    else:
        inner = [f"not_x{s}/{name}" for name in outputs]
        otherwise = helper.make_graph(_switch(rest, branches, inner), f"not_x{s}", [],
                                      [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in inner])
    return [
        helper.make_node("Constant", [], [f"is_x{s}/k"], name=f"is_x{s}/k",
                         value=helper.make_tensor("k", TensorProto.INT64, [], [s])),
        helper.make_node("Equal", [SCALE, f"is_x{s}/k"], [f"is_x{s}"], name=f"is_x{s}"),
        helper.make_node("If", [f"is_x{s}"], outputs, name=f"switch_x{s}", then_branch=branches[s],
                         else_branch=otherwise),
    ]


def _assemble(trunk, branches: dict, tail, scales: tuple[int, ...]):
    """One model from the parts (ModelProtos): trunk -> If chain over ``scales`` -> tail."""
    import onnx
    from onnx import TensorProto, helper

    subgraphs = {}
    for s, part in branches.items():
        g = _prefixed(part.graph, f"x{s}/", keep=set())
        subgraphs[s] = helper.make_graph(list(g.node), f"x{s}", [], list(g.output), list(g.initializer),
                                         value_info=list(g.value_info))
    t = _prefixed(trunk.graph, "trunk/", keep={_FEATURES})
    r = _prefixed(tail.graph, "tail/", keep={OUTPUT})
    nodes = list(t.node) + _switch(scales, subgraphs, [_UPSCALED, _BASE]) + list(r.node)
    scale_input = helper.make_tensor_value_info(SCALE, TensorProto.INT64, [])
    graph = helper.make_graph(nodes, "edgesr_shared", [t.input[0], scale_input], list(r.output),
                              list(t.initializer) + list(r.initializer))
    opsets: dict[str, int] = {}
    for part in (trunk, tail, *branches.values()):
        for o in part.opset_import:
            opsets[o.domain] = max(opsets.get(o.domain, 0), o.version)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets.items()],
                              producer_name="edgesr")
    model.ir_version = trunk.ir_version
    onnx.checker.check_model(model)
    return model


def _shared_calibration(model: nn.Module, calibration: dict[int, list[np.ndarray]]) -> dict[str, list[dict]]:
    """Feeds for each part, from running the PyTorch parts on each scale's calibration inputs."""
    feeds: dict[str, list[dict]] = {"trunk": [], "tail": []}
    with torch.no_grad():
        for s, xs in calibration.items():
            feeds[f"x{s}"] = []
            for x in xs:
                t = torch.from_numpy(x)
                f = model.trunk(t)
                up, base = model.branch(t, f, s)
                feeds["trunk"].append({INPUT: x})
                feeds[f"x{s}"].append({INPUT: x, _FEATURES: f.numpy()})
                feeds["tail"].append({_UPSCALED: up.numpy(), _BASE: base.numpy()})
    return feeds


def _shared_ranges(model: nn.Module, calibration: dict[int, list[np.ndarray]], inputs: dict[int, list[np.ndarray]],
                   scales: tuple[int, ...], pure_int8: bool = False) -> dict:
    """Per part, a function giving its tensors' ranges: each scale's rounding points probed with
    that scale's first calibration input; the trunk and the tail, which every scale runs, take the
    union of the scales' ranges."""
    probes = {}
    for s in scales:
        x = torch.as_tensor(calibration[s][0])
        with torch.no_grad():
            feats = model.trunk(x)
            up, base = model.branch(x, feats, s)
        probes[s] = (range_points(model, s, inputs[s], calibration[s][0], pure_int8=pure_int8), x.numpy(),
                     feats.numpy(), up.numpy(), base.numpy())

    def trunk(pre):
        return merge([onnx_ranges(pre, {INPUT: x}, pts) for pts, x, *_ in probes.values()])

    def tail(pre):
        return merge([onnx_ranges(pre, {_UPSCALED: up, _BASE: base}, pts) for pts, _, _, up, base in probes.values()])

    def branch(s):
        pts, x, feats, _, _ = probes[s]
        return lambda pre: onnx_ranges(pre, {INPUT: x, _FEATURES: feats}, pts)

    return {"trunk": trunk, "tail": tail, **{f"x{s}": branch(s) for s in scales}}


def _switched_graph(model: nn.Module, out: Path, job: Conversion) -> Exported:
    """Several scales of a multi-scale ``model`` as one graph with inputs ``input`` and ``scale`` (an
    int64 scalar)."""
    scales, precision, input_size, calibration = job.scales, job.precision, job.input_size, job.calibration
    onnx = require("onnx", "onnx")
    model = model.eval()
    channels = model.spec.channels
    x = torch.rand(1, channels, *(input_size or (64, 64)))
    with torch.no_grad():
        feats = model.trunk(x)
        outs = {s: model.branch(x, feats, s) for s in scales}
    parts = {"trunk": (_Part(model, "trunk"), (x,), [INPUT], [_FEATURES], input_size is None)}
    for s in scales:
        parts[f"x{s}"] = (_Part(model, "branch", s), (x, feats), [INPUT, _FEATURES], [_UPSCALED, _BASE],
                          input_size is None)
    # the tail sees a different size per scale: dynamic even when the input size is fixed
    parts["tail"] = (_Part(model, "tail"), outs[scales[0]], [_UPSCALED, _BASE], [OUTPUT], True)
    feeds = _shared_calibration(model, calibration) if precision in _ACTIVATION_BITS else {}
    ranges = (_shared_ranges(model, calibration, job.range_inputs or calibration, scales, bool(job.pure_int8))
              if precision == "int8" else {})
    with atomic_output(out) as tmp, tempfile.TemporaryDirectory() as d:
        protos = {}
        for key, (net, samples, ins, outs_, dynamic) in parts.items():
            path = Path(d) / f"{key}.onnx"
            _export_graph(net, samples, ins, outs_, dynamic, path)
            if precision in _ACTIVATION_BITS:
                _quantize(path, path.with_suffix(".q.onnx"), feeds[key], job.symmetric, activation_bits=_ACTIVATION_BITS[precision],
                          ranges=ranges.get(key))
                path = path.with_suffix(".q.onnx")
            protos[key] = onnx.load(str(path))
        joined = _assemble(protos["trunk"], {s: protos[f"x{s}"] for s in scales}, protos["tail"], tuple(scales))
        onnx.save(joined, str(tmp))
        if precision == "fp16":
            _to_fp16(tmp)
    h, w = input_size or (None, None)
    inp = TensorSpec(INPUT, "NCHW", "float32", channels, h, w)
    heads = tuple(Head(s, "", inp, TensorSpec(OUTPUT, "NCHW", "float32", channels, h * s if h else None,
                                              w * s if w else None)) for s in scales)
    return Exported(heads[0].input, heads[0].output, heads, SCALE)

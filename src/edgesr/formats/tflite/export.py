"""LiteRT (TFLite) export through Google's PyTorch route (litert-torch), NHWC at the boundary.

What is converted is an export-only copy of the network whose pixel shuffles are DEPTH_TO_SPACE,
NHWC throughout, every tensor of rank 4 or less (:mod:`edgesr.formats.tflite.nhwc`); the files
litert-torch and ai-edge-quantizer write are edited where they fall short: DEPTH_TO_SPACE carried
through quantization, int8 outputs, uint8 image I/O, short tensor names
(:mod:`edgesr.formats.tflite.rewrite`).

FP32 as converted; FP16 as float16 weights (ai-edge-quantizer's float-casting recipe); INT8 as full
integer (int8 input and output, every op integer) in edgesr's INT8 scheme (``edgesr.train.qat``):
ai-edge-quantizer's static recipe with edgesr's activation ranges and, for convolutions, its
symmetric 7-bit weights, which are the scheme's 63-step grid stored in int8; with ``io="uint8"`` its image input and output are uint8 (the value is
the pixel), requantized to and from int8 inside by QUANTIZE ops. Shapes are fixed: a pixel
shuffle keeps litert-torch from dynamic H/W, so larger images run as tiles.
"""

from __future__ import annotations

import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgesr._deps import require
from edgesr.errors import ExportError
from edgesr.formats.base import Conversion, Exported
from edgesr.formats.common import atomic_output
from edgesr.formats.tflite.nhwc import dcr_points, litert_networks, lower_custom_ops
from edgesr.formats.tflite.rewrite import (builtin_codes, compact, hide_from_quantizer, int8_outputs, show_hidden,
                                          tensor_name, uint8_io)
from edgesr.formats.ranges import merge, range_points, tflite_ranges
from edgesr.formats.tflite.io import IO_DTYPE, check_io
from edgesr.manifest import VALUE_RANGE, Head, TensorSpec

# ai-edge-quantizer's symmetric 7-bit weights are the INT8 scheme's grid (edgesr.train.qat.WEIGHT_LEVELS):
# 63 steps of max|w| / 63 each side of 0, stored as int8
_WEIGHT_BITS = 7


def _convert(nets: dict[str, nn.Module], channels: int, size: tuple[int, int], path: Path) -> None:
    """One network, or one signature per entry of ``nets`` (weights they share are stored once)."""
    litert_torch = require("litert_torch", "tflite", "litert-torch")
    lower_custom_ops()
    sample = (torch.rand(1, *size, channels),)
    nhwc = {name: litert_torch.to_channel_last_io(net, args=[0], outputs=[0]).eval() for name, net in nets.items()}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        if len(nhwc) == 1:
            edge = litert_torch.convert(next(iter(nhwc.values())), sample)
        else:
            converter = litert_torch.Converter()
            for name, net in nhwc.items():
                converter.signature(name, net, sample)
            edge = converter.convert()
    edge.export(str(path))


def _quantize(src: Path, dst: Path, precision: str, calibration: dict[str, list[np.ndarray]] | None,
              points: dict[str, list] | None = None) -> None:
    """FP16 weights, or full-integer INT8 (or W8A16: int16 activations) calibrated on every signature
    (``calibration`` maps each signature's key, or "" for the only one, to its NCHW inputs). INT8
    takes the activation ranges edgesr computed (``points``, by the same keys: see
    ``edgesr.formats.ranges``) for the tensors they match; tensors that share a name across
    signatures (a shared trunk) get the union of their ranges, so their quantization agrees."""
    require("ai_edge_quantizer", "tflite", "ai-edge-quantizer")
    from ai_edge_litert.interpreter import Interpreter
    from ai_edge_quantizer import qtyping, quantizer, recipe, recipe_manager
    from ai_edge_quantizer.algorithm_manager import AlgorithmName

    qt = quantizer.Quantizer(str(src))  # calibrates: runs the real graph
    hidden, blocks = hide_from_quantizer(src)
    target = quantizer.Quantizer(str(hidden))  # quantizes: DEPTH_TO_SPACE shown as RESHAPE, PRELU as MUL
    if precision == "fp16":
        manager = recipe_manager.RecipeManager()
        manager.add_weight_only_config(regex=".*", operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
                                       num_bits=16, algorithm_key=AlgorithmName.FLOAT_CASTING)
        target.load_quantization_recipe(manager.get_quantization_recipe())
        result = target.quantize()
    else:
        signatures = Interpreter(model_path=str(src)).get_signature_list()
        table = {}
        if points:
            table = merge([tflite_ranges(src, key, (calibration.get(key) or calibration[""])[0],
                                         points.get(key) or points[""]) for key in signatures])
        if precision == "w8a16":
            qt.load_quantization_recipe(recipe.static_wi8_ai16())
        else:
            manager = recipe_manager.RecipeManager()
            manager.add_static_config(regex=".*", operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
                                      activation_num_bits=8, weight_num_bits=8)
            # 7-bit weights are not in the quantizer's table of tested configurations: asked for past it
            manager.add_quantization_config(".*", qtyping.TFLOperationName.CONV_2D, qtyping.OpQuantizationConfig(
                activation_tensor_config=qtyping.TensorQuantizationConfig(num_bits=8, symmetric=False),
                weight_tensor_config=qtyping.TensorQuantizationConfig(
                    num_bits=_WEIGHT_BITS, symmetric=True, granularity=qtyping.QuantGranularity.CHANNELWISE),
                compute_precision=qtyping.ComputePrecision.INTEGER, explicit_dequantize=False, skip_checks=True))
            for name in _int16_ops(src, {name for name, (_, _, bits) in table.items() if bits == 16}):
                # an op's scope is its output names, each followed by ";"
                manager.add_static_config(regex=f"^{re.escape(name)};$", operation_name=qtyping.TFLOperationName.ALL_SUPPORTED,
                                          activation_num_bits=16, weight_num_bits=8)
            qt.load_quantization_recipe(manager.get_quantization_recipe())
        data = {}
        for key, io in signatures.items():
            xs = calibration[key] if key in calibration else calibration[""]
            data[key] = [{io["inputs"][0]: x.transpose(0, 2, 3, 1).astype(np.float32)} for x in xs]
        ranges = _min_max_ranges(qt, data, _io_tensor_names(src), set(table))
        for name, (lo, hi, _) in table.items():
            if name in ranges:
                ranges[name] = _with_range(ranges[name], lo, hi)
        target.load_quantization_recipe(qt.get_quantization_recipe())
        result = target.quantize(ranges)
    result.export_model(str(dst), overwrite=True)
    show_hidden(dst, blocks)
    if precision == "int8":
        int8_outputs(dst)


def _min_max_ranges(qt, data: dict[str, list[dict[str, np.ndarray]]], io_names: set[str],
                    given: set[str] = frozenset()) -> dict:
    """Each tensor's range over all calibration inputs, the image I/O pinned to ``VALUE_RANGE``.

    ai-edge-quantizer keeps a moving average (0.95) of per-input minima and maxima, which ends
    inside the range that the data reaches: on a VDSR-type model the input's range stopped at
    0.85 (Y reaches 0.92) and bright pixels were clipped through the global residual (-0.35 dB
    on Set5 x4 against -0.07 for ONNX Runtime's true min/max). Calibrating one input at a time
    gives each input's own range; their union is the true one. The image input and output get the
    declared value range, so an int8 step is exactly 1/255 and nothing inside it is clipped (the
    output is clamped to that range afterwards anyway).

    Tensors whose range is ``given`` (edgesr's, set afterwards) need no calibration: when the first
    input shows that every tensor is given or image I/O, the others are not run (the result is the
    same; asym_vdsr x4 at 64x64: 1.7 s per input, 64 inputs).
    """
    merged: dict = {}
    for i in range(max(len(xs) for xs in data.values())):
        if i == 1 and merged.keys() <= given | io_names:
            break
        step = qt.calibrate({key: xs[i:i + 1] for key, xs in data.items() if i < len(xs)})
        for name, qsv in step.items():
            if name in merged:
                qsv = {**qsv, "min": np.minimum(merged[name]["min"], qsv["min"]),
                       "max": np.maximum(merged[name]["max"], qsv["max"])}
            merged[name] = qsv
    for name in io_names & merged.keys():
        merged[name] = _with_range(merged[name], *VALUE_RANGE)
    return merged


def _with_range(qsv: dict, lo: float, hi: float) -> dict:
    """A tensor's calibration entry with its range set to [lo, hi] (arrays keep their shape)."""
    return {**qsv, "min": np.full_like(qsv["min"], lo), "max": np.full_like(qsv["max"], hi)}


_MOVES = ("RESHAPE", "TRANSPOSE", "DEPTH_TO_SPACE", "SQUEEZE", "EXPAND_DIMS", "BROADCAST_TO")


def _int16_ops(path: Path, wide: set[str]) -> list[str]:
    """Output names of the ops to run with int16 activations, given the tensors edgesr keeps at 16
    bits (``wide``): their producers, the ops that only move a wide tensor (a pixel shuffle's
    reshapes and transposes), and the ops that read one (a LiteRT op takes its inputs in its own
    width: a 16-bit ADD reads the 16-bit refine output and the 8-bit base, and the quantizer
    requantizes its [0, 1] output to the int8 graph output)."""
    if not wide:
        return []
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_quantizer.utils import tfl_flatbuffer_utils

    ops = schema.BuiltinOperator
    moves = {getattr(ops, name) for name in _MOVES}
    model = tfl_flatbuffer_utils.read_model(str(path))
    codes = builtin_codes(model)
    names = set()
    for graph in model.subgraphs:
        def name(index: int) -> str:
            return tensor_name(graph.tensors[index])

        marked = set(wide)
        for op in graph.operators:  # graph order: chains of moves follow their input
            inputs = [name(i) for i in op.inputs if i >= 0]
            outputs = [name(i) for i in op.outputs]
            if codes[op.opcodeIndex] in moves and inputs and inputs[0] in marked:
                marked.update(outputs)
            if marked & (set(inputs) | set(outputs)):
                names.update(outputs)
    return sorted(names)


def _io_tensor_names(path: Path) -> set[str]:
    """Names of the tensors whose range is the image's: every subgraph's input and output, and the
    tensors that the output is only a rearrangement of (the quantizer gives a reshape, transpose
    or depth-to-space output its input's scale, so a pixel shuffle's range is the conv's before it)."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_quantizer.utils import tfl_flatbuffer_utils

    ops = schema.BuiltinOperator
    moves = {ops.RESHAPE, ops.TRANSPOSE, ops.DEPTH_TO_SPACE, ops.SQUEEZE, ops.EXPAND_DIMS}
    model = tfl_flatbuffer_utils.read_model(str(path))
    codes = builtin_codes(model)
    names = set()
    for graph in model.subgraphs:
        producer = {out: op for op in graph.operators for out in op.outputs}
        tensors = list(graph.inputs)
        for index in graph.outputs:
            tensors.append(index)
            while index in producer and codes[producer[index].opcodeIndex] in moves:
                index = producer[index].inputs[0]
                tensors.append(index)
        names.update(tensor_name(graph.tensors[index]) for index in tensors)
    return names



def _spec(detail: dict) -> TensorSpec:
    _, h, w, c = (int(v) for v in detail["shape"])
    dtype = np.dtype(detail["dtype"]).name
    scale, zero = detail["quantization"]
    quant = (float(scale), int(zero)) if dtype in ("int8", "uint8", "int16") else None
    return TensorSpec(detail["name"], "NHWC", dtype, c, h, w, quantization=quant)


def _io_specs(path: Path) -> dict[str, tuple[TensorSpec, TensorSpec]]:
    """Input and output specs of every signature; tensor names are the signature's own names."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path))
    specs = {}
    for key in it.get_signature_list():
        runner = it.get_signature_runner(key)
        (in_name, in_detail), = runner.get_input_details().items()
        (out_name, out_detail), = runner.get_output_details().items()
        inp, out = _spec({**in_detail, "name": in_name}), _spec({**out_detail, "name": out_name})
        if (inp.dtype in ("float32", "float16")) != (out.dtype in ("float32", "float16")):
            raise ExportError(f"{path.name}: mixed float and integer I/O")
        specs[key] = (inp, out)
    return specs


def _write(nets: dict[str, nn.Module], channels: int, out: Path, precision: str, input_size: tuple[int, int] | None,
           calibration: dict[str, list[np.ndarray]] | None,
           points: dict[str, list] | None = None, io: str = "tensor") -> dict[str, tuple[TensorSpec, TensorSpec]]:
    if input_size is None:
        raise ExportError("tflite needs a fixed input size")
    if precision in IO_DTYPE and not calibration:
        raise ExportError(f"{precision} export needs calibration inputs")
    with atomic_output(out) as tmp:
        if precision == "fp32":
            _convert(nets, channels, input_size, tmp)
        else:
            with tempfile.TemporaryDirectory() as d:
                fp32 = Path(d) / "fp32.tflite"
                _convert(nets, channels, input_size, fp32)
                _quantize(fp32, tmp, precision, calibration, points)
        if io == "uint8":
            uint8_io(tmp)
        compact(tmp)
        specs = _io_specs(tmp)
    for key, (inp, outp) in specs.items():
        want = "uint8" if io == "uint8" else IO_DTYPE.get(precision)
        if want and not (inp.dtype == outp.dtype == want):
            raise ExportError(f"{precision} export left {inp.dtype} input / {outp.dtype} output; expected {want}")
    return specs


def export_tflite(model: nn.Module, out: Path, job: Conversion) -> Exported:
    """Write ``model`` at ``job.scales`` to ``out`` for a fixed network input ``job.input_size`` (H, W):
    one scale as one graph; several as one model with a signature per scale ("x2", "x3", ...) whose
    signatures share the trunk's weight buffers. INT8 activation ranges are measured on
    ``job.range_inputs`` (default: the calibration inputs), and the model's ``int16_modules`` keep int16
    activations unless ``job.pure_int8``; every signature is calibrated on the same inputs (all scales'
    together: the quantizer writes a shared buffer once per signature, so the trunk's ranges must agree).
    ``job.io="uint8"`` (INT8 only) gives uint8 image input and output, scale 1/255 and zero point 0."""
    precision, io, scales = job.precision, job.io or "tensor", job.scales
    check_io(io, precision)
    key = {s: f"x{s}" if job.shared else "" for s in scales}  # a signature per scale; one scale: none
    nets = {key[s]: net for s, net in litert_networks(model, scales, prelu=precision != "w8a16").items()}
    pool = [x for xs in job.calibration.values() for x in xs]
    points = None
    if precision == "int8" and pool:
        points = {key[s]: dcr_points(range_points(model, s, (job.range_inputs or {}).get(s) or pool, pool[0],
                                                  pure_int8=bool(job.pure_int8)), model) for s in scales}
    specs = _write(nets, model.spec.channels, out, precision, job.input_size,
                   {key[s]: pool for s in scales} if pool else None, points, io)
    if not job.shared:  # one signature, whatever the converter named it
        (spec,) = specs.values()
        return Exported(*spec)
    heads = tuple(Head(s, key[s], *specs[key[s]]) for s in scales)
    return Exported(heads[0].input, heads[0].output, heads)

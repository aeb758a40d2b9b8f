"""Core ML export: an ML Program (``.mlpackage``) converted with coremltools from a traced module.

Precisions: ``fp32`` and ``fp16`` (compute precision), ``int8`` (weights linearly quantized to int8,
per channel; FP16 compute), ``w8a8`` (int8 weights and int8 activations, the int8-int8 compute of
the Neural Engine from A17 Pro and M4 on; iOS 17) and ``palette6`` (weights palettized to 6-bit k-means
look-up tables; FP16 compute).

``w8a8`` takes edgesr's activation ranges (``edgesr.formats.ranges``: the calibration images' quantiles,
or what quantization-aware training learned): the network is converted from a ``torch.export``
program, whose node names Core ML's converter keeps for its tensors, so each tensor's range is found
by name, and coremltools' own activation passes insert the quantize/dequantize pairs from them
(their calibration runs the model, which only works on macOS). Core ML's activation quantization is
8-bit symmetric only: the model's ``int16_modules`` stay float16, and so does the image (the input,
what only moves its values, the output: its [0, 1] would get 127 steps); ranges are symmetric about 0. The input size is fixed, or one of
several enumerated sizes. Several scales of a multi-scale model become one multifunction package
(one function per scale, ``x2``, ``x3`` ...), in which coremltools stores each weight shared by the
functions once.

I/O (``io``): ``tensor`` (the default) takes and gives float32 NCHW on [0, 1]; ``image`` takes and
gives images, as Vision's ``VNCoreMLRequest`` and Xcode's preview want them: an RGB image (8 bits per
channel) for RGB models, a 16-bit float grayscale image for Y models (iOS 16 / macOS 13 on), pixels
0-255 both ways. The input's /255 is the ImageType's own ``scale``; a Core ML image output has no
scale or bias, so the network is wrapped to give ``clamp(net(x) * 255, 0, 255)`` itself (rounded
for RGB, whose image holds 8-bit integers, so that Core ML's float-to-8-bit conversion cannot
truncate). Every precision takes either; ``w8a8`` rounds the same tensors with image I/O as with
tensors (the /255 and the *255 stay float). The input and output features' and the
package's descriptions are written by :mod:`edgesr.formats.coreml.metadata` after conversion.

Conversion runs anywhere; a Core ML model predicts only on macOS, so on other systems what can be
checked is the package itself (:func:`describe`).
"""

from __future__ import annotations

import copy
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

from edgesr._deps import require
from edgesr._files import atomic_folder
from edgesr.errors import ExportError
from edgesr.formats.base import Conversion, Exported, get_format
from edgesr.manifest import Head, TensorSpec
from edgesr.models.scale import network_for_scale

INPUT, OUTPUT = "input", "output"
PRECISIONS = get_format("coreml").precisions
IO = get_format("coreml").io  # tensor (float32 on [0, 1]) | image (Core ML images, 0-255)
# the oldest OS that runs the package: ML Programs need iOS 16, activation quantization iOS 17,
# multifunction packages iOS 18
TARGETS = {"single": "iOS16", "multifunction": "iOS18"}
ACTIVATION_TARGET = "iOS17"
ACTIVATION_MODE = "linear_symmetric"
# MIL ops that hold compressed weights, by precision
COMPRESSED_OPS = {"int8": ("constexpr_affine_dequantize", "constexpr_blockwise_shift_scale"),
                  "w8a8": ("constexpr_affine_dequantize", "constexpr_blockwise_shift_scale"),
                  "palette6": ("constexpr_lut_to_dense",)}


@dataclass
class Activations:
    """What ``w8a8`` needs besides the network: the exported program and its tensors' ranges."""

    program: object  # torch.export.ExportedProgram
    ranges: dict  # {fx node name: (lo, hi, bits)}
    floats: set  # fx node names kept float16: the model's 16-bit parts and the image (input, residual, output)
    plan: dict = field(default_factory=dict)  # where the quantize/dequantize pairs went (_rounding_plan)


def _activations(model: nn.Module, scale: int, net: nn.Module, sizes: list[tuple[int, int]],
                 calibration: list[np.ndarray] | None, range_inputs: list[np.ndarray] | None,
                 pure_int8: bool) -> Activations:
    from edgesr.formats.ranges import fx_ranges, range_points
    from edgesr.train.qat import QATOptions, held_ids, inside, wide_modules

    if not calibration:
        raise ExportError("coreml w8a8 needs calibration images (--calib-data)")
    probe = calibration[0]
    sample = torch.as_tensor(probe)
    dynamic = None
    if len(sizes) > 1:  # one program for every enumerated size
        h, w = torch.export.Dim("h", min=4, max=8192), torch.export.Dim("w", min=4, max=8192)
        dynamic = ({2: h, 3: w},)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(net.eval(), (sample,), dynamic_shapes=dynamic).run_decompositions({})
    points = range_points(model, scale, range_inputs or calibration, probe, pure_int8=pure_int8)
    held = held_ids(wide_modules(model, QATOptions(pure_int8=pure_int8)))
    ranges = fx_ranges(program, points, probe, calibration)
    # 16-bit: computed inside the model's int16_modules, or holding a 16-bit point's values (the pixel shuffle)
    floats = {n.name for n in program.graph.nodes if held and inside(net, n, held)}
    floats |= {name for name, (_, _, bits) in ranges.items() if bits == 16}
    # and the image: symmetric int8 gives [0, 1] 127 steps, not 255. The input, what only moves its values
    # (masrn's nearest-upsampled residual) and the output stay float16; what reads them (a 3-channel
    # convolution, the final addition) is a small part of the work
    floats |= _image_nodes(program)
    return Activations(program, ranges, floats)


# aten ops that only move an image's values (nearest upsampling, pixel shuffle, reshapes)
_IMAGE_MOVES = ("upsample_nearest", "pixel_shuffle", "pixel_unshuffle", "repeat", "view", "reshape", "permute",
                "expand", "clone", "_unsafe_view")


def _image_nodes(program) -> set[str]:
    """fx node names holding the image: the input, its rearrangements, and the output."""
    graph = program.graph
    image = {program.graph_signature.user_inputs[0]}
    for node in graph.nodes:
        if node.op == "call_function" and node.args and getattr(node.args[0], "name", None) in image \
                and any(m in str(node.target) for m in _IMAGE_MOVES):
            image.add(node.name)
        if node.op == "output":
            image |= {a.name for a in node.args[0] if hasattr(a, "name")}
    return image


class ImageIO(nn.Module):
    """``net`` giving pixels 0-255, clamped (and rounded for 8-bit RGB): what a Core ML image output
    holds, since it has no scale or bias of its own. Its input stays [0, 1] (the ImageType's scale)."""

    def __init__(self, net: nn.Module, channels: int):
        super().__init__()
        self.net, self.rounded = net, channels == 3

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.net(x) * 255.0
        return torch.clamp(torch.round(y) if self.rounded else y, 0.0, 255.0)


def _io_types(ct, channels: int, shape, io: str) -> tuple[list, list]:
    """Core ML's input and output types: float32 tensors, or images (RGB 8-bit, or 16-bit float
    grayscale for one channel) whose input is scaled by 1/255 inside the model."""
    if io == "tensor":
        return ([ct.TensorType(name=INPUT, shape=shape, dtype=np.float32)],
                [ct.TensorType(name=OUTPUT, dtype=np.float32)])
    layout = ct.colorlayout.RGB if channels == 3 else ct.colorlayout.GRAYSCALE_FLOAT16
    return ([ct.ImageType(name=INPUT, shape=shape, scale=1.0 / 255.0, color_layout=layout)],
            [ct.ImageType(name=OUTPUT, color_layout=layout)])


def _check_io(io: str, channels: int) -> None:
    if io not in IO:
        raise ExportError(f"coreml takes --io {' or '.join(IO)}, not {io!r}")
    if io == "image" and channels not in (1, 3):
        raise ExportError(f"coreml --io image takes 1-channel (Y) or 3-channel (RGB) models, not {channels} channels; "
                          "export with --io tensor")


def _convert(net: nn.Module, channels: int, sizes: list[tuple[int, int]], precision: str, target: str,
             activations: Activations | None = None, io: str = "tensor"):
    """``net`` (already wrapped in :class:`ImageIO` for image I/O) as an ML Program."""
    ct = require("coremltools", "coreml")
    sample = torch.rand(1, channels, *sizes[0])
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        source = activations.program if activations is not None else torch.jit.trace(net.eval(), sample)
        if len(sizes) == 1:
            shape = tuple(sample.shape)
        else:
            shape = ct.EnumeratedShapes(shapes=[[1, channels, h, w] for h, w in sizes],
                                        default=[1, channels, *sizes[0]])
        if activations is not None:
            target = max(target, ACTIVATION_TARGET, key=lambda t: int(t.removeprefix("iOS")))
        inputs, outputs = _io_types(ct, channels, shape, io)
        model = ct.convert(
            source, inputs=inputs, outputs=outputs, convert_to="mlprogram",
            minimum_deployment_target=getattr(ct.target, target), skip_model_load=True,
            compute_precision=ct.precision.FLOAT32 if precision == "fp32" else ct.precision.FLOAT16)
        if activations is not None:
            model = _quantize_activations(model, activations)
    return _compress(model, precision)


def _fx_name(var_name: str, user_input: str) -> str:
    """The fx node a MIL tensor is named after (``<node>_cast_fp16``; the input's cast ``input_to_fp16``)."""
    base = var_name.removesuffix("_cast_fp16")
    return user_input if base == f"{INPUT}_to_fp16" else base


def _mil_ranges(program, activations: Activations) -> tuple[dict, set]:
    """coremltools' activation statistics ({MIL tensor: {"rmin", "rmax"}}) from the fx ranges, and
    the MIL ops to leave in float16: those that write or read a tensor kept float, or read one that
    has no range."""
    user_input = activations.program.graph_signature.user_inputs[0]
    ops = [op for op in program.functions["main"].operations if op.op_type != "const"]
    stats = {}
    for op in ops:
        for v in op.outputs:
            r = activations.ranges.get(_fx_name(v.name, user_input))
            if r is not None:
                stats[v.name] = {"rmin": float(r[0]), "rmax": float(r[1])}
    for op in ops:  # a concat's inputs and output share one range (its quantized form is a copy)
        if op.op_type == "concat":
            group = [v.name for v in op.inputs["values"]] + [op.outputs[0].name]
            group = [n for n in group if n in stats]
            if group:
                lo, hi = min(stats[n]["rmin"] for n in group), max(stats[n]["rmax"] for n in group)
                for n in group:
                    stats[n] = {"rmin": lo, "rmax": hi}
    keep_float = set()
    for op in ops:
        reads = [v for name, v in op.inputs.items() if name in ("x", "y") and getattr(v, "op", None) is not None
                 and v.op.op_type != "const"]
        if (any(_fx_name(v.name, user_input) in activations.floats for v in [*op.outputs, *reads])
                or any(v.name not in stats for v in reads)):
            keep_float.add(op.name)
    return stats, keep_float


def _rounding_plan(program, user_input: str) -> dict[str, dict[str, list[tuple[float, int]]]]:
    """{fx node: {fx input node: [(scale, zero point), ...]}}: which inputs each op reads through
    quantize/dequantize pairs, and their parameters (innermost first), read from the MIL program."""
    plan: dict[str, dict[str, list[tuple[float, int]]]] = {}
    for op in program.functions["main"].operations:
        if op.op_type in ("const", "quantize", "dequantize"):
            continue
        for value in op.inputs.values():
            for v in value if isinstance(value, (list, tuple)) else [value]:
                scales = []
                while getattr(v, "op", None) is not None and v.op.op_type == "dequantize":
                    q = v.op.inputs["input"].op
                    zero = q.inputs.get("zero_point")
                    scales.append((float(np.max(q.inputs["scale"].val)), 0 if zero is None else int(zero.val)))
                    v = q.inputs["input"]
                if scales:
                    plan.setdefault(_fx_name(op.outputs[0].name, user_input), {})[_fx_name(v.name, user_input)] = scales[::-1]
    return plan


def _quantize_activations(model, activations: Activations):
    """int8 symmetric quantize/dequantize pairs around the convolutions and additions, with edgesr's
    ranges: coremltools' ``linear_quantize_activations`` without its calibration run. Records in
    ``activations.plan`` where the pairs went (for :func:`emulate`)."""
    import coremltools.optimize.coreml as cto
    from coremltools import _SPECIFICATION_VERSION_IOS_17
    from coremltools.converters.mil.converter import mil_convert
    from coremltools.converters.mil.frontend.milproto.load import load as load_mil
    from coremltools.converters.mil.mil.passes.defs.optimize_activation_quantization import (
        insert_suffix_quantize_dequantize_pair,
    )
    from coremltools.converters.mil.mil.passes.pass_registry import PASS_REGISTRY
    from coremltools.models.utils import _apply_graph_pass
    from coremltools.optimize.coreml._quantization_passes import insert_prefix_quantize_dequantize_pair

    stats, keep_float = _mil_ranges(model._mil_program, activations)
    config = cto.OptimizationConfig(global_config=cto.OpLinearQuantizerConfig(mode=ACTIVATION_MODE, dtype="int8"),
                                    op_name_configs={name: None for name in keep_float})
    prefix = insert_prefix_quantize_dequantize_pair(config=config)
    prefix.activation_stats = stats
    suffix = insert_suffix_quantize_dequantize_pair()
    suffix.config = config
    suffix.activation_stats = stats
    spec = model.get_spec()
    version = max(spec.specificationVersion, _SPECIFICATION_VERSION_IOS_17)
    program = _apply_graph_pass(model, [prefix, suffix, PASS_REGISTRY["common::dequantize_quantize_pair_elimination"]],
                                spec_version=version, pymil_load_func=load_mil, skip_model_load=True,
                                return_pymil_prog=True)
    activations.plan = _rounding_plan(program, activations.program.graph_signature.user_inputs[0])
    return mil_convert(program, convert_to="mlprogram", convert_from="milinternal", specification_version=version,
                       compute_units=model.compute_unit, model_description=spec.description, skip_model_load=True)


def emulate(activations: Activations) -> Callable[[torch.Tensor], torch.Tensor]:
    """The W8A8 network as a Core ML package computes it, emulated in float32 PyTorch (a Core ML
    model predicts only on macOS): the convolution weights rounded as stored (int8 symmetric per
    output channel), and each op's inputs rounded where the package puts its quantize/dequantize
    pairs, with their scales. Float16 compute is not emulated."""
    from edgesr.train.qat import fake_quant_weight

    module = copy.deepcopy(activations.program.module())
    with torch.no_grad():
        for p in module.parameters():
            if p.dim() == 4:
                p.copy_(fake_quant_weight(p, 127))
    nodes = {n.name: n for n in module.graph.nodes}
    missing = {i for reads in activations.plan.values() for i in reads} - nodes.keys()
    if missing or not activations.plan:
        raise ExportError(f"the W8A8 plan names tensors the network lacks: {sorted(missing)[:5]}")

    def rounded(x: torch.Tensor, pairs: list[tuple[float, int]]) -> torch.Tensor:
        for s, z in pairs:  # MIL quantize: round to nearest, int8 saturation
            x = (torch.clamp(torch.round(x / s) + z, -128, 127) - z) * s
        return x

    class Emulator(torch.fx.Interpreter):
        def run_node(self, n):
            reads = activations.plan.get(n.name, {})
            saved = {}
            for name, scales in reads.items():
                saved[name] = self.env[nodes[name]]
                self.env[nodes[name]] = rounded(saved[name], scales)
            try:
                return super().run_node(n)
            finally:
                for name, value in saved.items():
                    self.env[nodes[name]] = value

    def run(x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return Emulator(module).run(x)

    return run


def _compress(model, precision: str):
    if precision in ("fp32", "fp16"):
        return model
    import coremltools.optimize.coreml as cto

    # weight_threshold=0: the default (2048 elements) would leave a small SR net's convs uncompressed
    if precision in ("int8", "w8a8"):
        op = cto.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8", granularity="per_channel",
                                         weight_threshold=0)
        return cto.linear_quantize_weights(model, config=cto.OptimizationConfig(global_config=op))
    op = cto.OpPalettizerConfig(mode="kmeans", nbits=6, weight_threshold=0)
    return cto.palettize_weights(model, config=cto.OptimizationConfig(global_config=op))


def _sizes(input_size) -> list[tuple[int, int]]:
    if input_size is None:
        raise ExportError("coreml needs a fixed input size, or several with --input-size 128x128,256x256")
    return [tuple(input_size)] if isinstance(input_size[0], int) else [tuple(s) for s in input_size]


def _specs(channels: int, sizes: list[tuple[int, int]], factor: int,
           io: str = "tensor") -> tuple[TensorSpec, TensorSpec]:
    """The input and output as the manifest says them: float32 NCHW on [0, 1], or images (layout
    ``image``: RGB uint8, or grayscale float16) of pixels 0-255."""
    (h, w), many = sizes[0], len(sizes) > 1
    kind = (("NCHW", "float32", (0.0, 1.0)) if io == "tensor" else
            ("image", "uint8" if channels == 3 else "float16", (0.0, 255.0)))
    layout, dtype, value_range = kind
    return (TensorSpec(INPUT, layout, dtype, channels, None if many else h, None if many else w,
                       value_range=value_range, sizes=tuple(sizes) if many else ()),
            TensorSpec(OUTPUT, layout, dtype, channels, None if many else h * factor,
                       None if many else w * factor, value_range=value_range,
                       sizes=tuple((a * factor, b * factor) for a, b in sizes) if many else ()))


def _network(model: nn.Module, scale: int, io: str) -> nn.Module:
    net = network_for_scale(model, scale)
    return ImageIO(net, model.spec.channels).eval() if io == "image" else net


def _check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ExportError(f"coreml does not take precision {precision!r}; it takes {', '.join(PRECISIONS)}")


def export_coreml(model: nn.Module, out: Path, job: Conversion) -> Exported:
    """Write ``model`` at ``job.scales`` as an ML Program package; ``job.input_size`` is (H, W) or a
    list of them. One scale: the package's ``main``; several: one multifunction package, function
    ``x<s>`` per scale, whose shared weights are stored once (they are bit-identical because every
    function is converted and compressed alike). ``w8a8`` measures its ranges on ``job.range_inputs``
    (default: the calibration inputs, crops of the input size). ``job.io="image"``: image input and
    output (see the module's docstring)."""
    precision, io, channels = job.precision, job.io or "tensor", model.spec.channels
    _check_precision(precision)
    _check_io(io, channels)
    sizes = _sizes(job.input_size)

    def convert(scale: int, target: str):
        net = _network(model, scale, io)
        acts = (_activations(model, scale, net, sizes, job.calibration.get(scale), (job.range_inputs or {}).get(scale),
                             bool(job.pure_int8)) if precision == "w8a8" else None)
        return _convert(net, channels, sizes, precision, target, acts, io)

    specs = {s: _specs(channels, sizes, 1 if model.spec.upsampling == "pre" else s, io) for s in job.scales}
    from edgesr.formats.coreml.metadata import settle

    if not job.shared:
        with atomic_folder(out) as tmp:
            convert(job.scales[0], TARGETS["single"]).save(str(tmp))
            settle(tmp)
        return Exported(*specs[job.scales[0]])
    ct = require("coremltools", "coreml")
    with atomic_folder(out) as tmp, tempfile.TemporaryDirectory() as d:
        descriptor = ct.utils.MultiFunctionDescriptor()
        for s in job.scales:
            path = Path(d) / f"x{s}.mlpackage"
            convert(s, TARGETS["multifunction"]).save(str(path))
            descriptor.add_function(str(path), src_function_name="main", target_function_name=f"x{s}")
        descriptor.default_function_name = f"x{job.scales[0]}"
        ct.utils.save_multifunction(descriptor, str(tmp))
        settle(tmp)
    heads = tuple(Head(s, f"x{s}", *specs[s]) for s in job.scales)
    return Exported(heads[0].input, heads[0].output, heads)


def _features(ct, features) -> dict:
    """{name: shape, dtype, enumerated shapes} of multiarrays; images also say their colour space
    (``image``: RGB, GRAYSCALE_FLOAT16 ...), and their size as ``1 x C x H x W`` (-1: any size)."""
    types = ct.proto.FeatureTypes_pb2
    out = {}
    for f in features:
        if f.type.WhichOneof("Type") == "imageType":
            t = f.type.imageType
            space = types.ImageFeatureType.ColorSpace.Name(t.colorSpace)
            c = 1 if space.startswith("GRAYSCALE") else 3
            shape = [1, c, -1, -1] if t.HasField("imageSizeRange") else [1, c, t.height, t.width]
            shapes = [[1, c, e.height, e.width] for e in t.enumeratedSizes.sizes] or [shape]
            dtype = "FLOAT16" if space == "GRAYSCALE_FLOAT16" else "UINT8"
            out[f.name] = {"shape": shape, "dtype": dtype, "shapes": shapes, "image": space}
            continue
        t = f.type.multiArrayType
        dtype = types.ArrayFeatureType.ArrayDataType.Name(t.dataType)
        shapes = [list(e.shape) for e in t.enumeratedShapes.shapes] or [list(t.shape)]
        out[f.name] = {"shape": list(t.shape), "dtype": dtype, "shapes": shapes}
    return out


def describe(package: str | Path) -> dict:
    """What a package holds, read without running it (works off macOS): per function, the input and
    output names, shapes and types (images: their colour space) and the list of MIL ops; and which
    ops hold compressed weights."""
    ct = require("coremltools", "coreml")
    from coremltools.converters.mil.frontend.milproto.load import load as load_mil

    spec = ct.utils.load_spec(str(package))
    weights = Path(package) / "Data" / "com.apple.CoreML" / "weights"
    program = load_mil(spec, specification_version=spec.specificationVersion, file_weights_dir=str(weights))

    described = spec.description.functions or [spec.description]
    functions = {}
    for fn in described:
        name = getattr(fn, "name", "") or "main"
        ops = [op.op_type for op in program.functions[name].operations]
        functions[name] = {"inputs": _features(ct, fn.input), "outputs": _features(ct, fn.output),
                           "ops": [op for op in ops if op != "const"]}
    compressed = sorted({op for f in functions.values() for op in f["ops"] if op.startswith("constexpr_")})
    return {"specification_version": spec.specificationVersion, "functions": functions,
            "default_function": spec.description.defaultFunctionName or None,
            "compressed_weight_ops": compressed}

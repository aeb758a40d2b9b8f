"""Core ML export: an ML Program (``.mlpackage``) converted with coremltools from a traced module.

Precisions: ``fp32`` and ``fp16`` (compute precision), ``int8`` (weights linearly quantized to int8,
per channel; FP16 compute) and ``palette6`` (weights palettized to 6-bit k-means look-up tables;
FP16 compute). Inputs and outputs stay float32 NCHW on [0, 1]. The input size is fixed, or one of
several enumerated sizes. Several scales of a multi-scale model become one multifunction package
(one function per scale, ``x2``, ``x3`` ...), in which coremltools stores each weight shared by the
functions once.

Conversion runs anywhere; a Core ML model predicts only on macOS, so on other systems what can be
checked is the package itself (:func:`describe`).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from edgesr._deps import require
from edgesr.errors import ExportError
from edgesr.export.common import atomic_folder, network_for_scale
from edgesr.export.manifest import Head, TensorSpec

INPUT, OUTPUT = "input", "output"
PRECISIONS = ("fp32", "fp16", "int8", "palette6")
# the oldest OS that runs the package: ML Programs need iOS 16; multifunction packages iOS 18
TARGETS = {"single": "iOS16", "multifunction": "iOS18"}
# MIL ops that hold compressed weights, by precision
COMPRESSED_OPS = {"int8": ("constexpr_affine_dequantize", "constexpr_blockwise_shift_scale"),
                  "palette6": ("constexpr_lut_to_dense",)}


def _convert(net: nn.Module, channels: int, sizes: list[tuple[int, int]], precision: str, target: str):
    ct = require("coremltools", "coreml")
    sample = torch.rand(1, channels, *sizes[0])
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(net.eval(), sample)
        if len(sizes) == 1:
            shape = tuple(sample.shape)
        else:
            shape = ct.EnumeratedShapes(shapes=[[1, channels, h, w] for h, w in sizes],
                                        default=[1, channels, *sizes[0]])
        model = ct.convert(
            traced, inputs=[ct.TensorType(name=INPUT, shape=shape, dtype=np.float32)],
            outputs=[ct.TensorType(name=OUTPUT, dtype=np.float32)], convert_to="mlprogram",
            minimum_deployment_target=getattr(ct.target, target),
            compute_precision=ct.precision.FLOAT32 if precision == "fp32" else ct.precision.FLOAT16)
    return _compress(model, precision)


def _compress(model, precision: str):
    if precision in ("fp32", "fp16"):
        return model
    import coremltools.optimize.coreml as cto

    # weight_threshold=0: the default (2048 elements) would leave a small SR net's convs uncompressed
    if precision == "int8":
        op = cto.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8", granularity="per_channel",
                                         weight_threshold=0)
        return cto.linear_quantize_weights(model, config=cto.OptimizationConfig(global_config=op))
    op = cto.OpPalettizerConfig(mode="kmeans", nbits=6, weight_threshold=0)
    return cto.palettize_weights(model, config=cto.OptimizationConfig(global_config=op))


def _sizes(input_size) -> list[tuple[int, int]]:
    if input_size is None:
        raise ExportError("coreml needs a fixed input size, or several with --input-size 128x128,256x256")
    return [tuple(input_size)] if isinstance(input_size[0], int) else [tuple(s) for s in input_size]


def _specs(channels: int, sizes: list[tuple[int, int]], factor: int) -> tuple[TensorSpec, TensorSpec]:
    (h, w), many = sizes[0], len(sizes) > 1
    return (TensorSpec(INPUT, "NCHW", "float32", channels, None if many else h, None if many else w,
                       sizes=tuple(sizes) if many else ()),
            TensorSpec(OUTPUT, "NCHW", "float32", channels, None if many else h * factor,
                       None if many else w * factor,
                       sizes=tuple((a * factor, b * factor) for a, b in sizes) if many else ()))


def _check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ExportError(f"coreml does not take precision {precision!r}; it takes {', '.join(PRECISIONS)}")


def export_coreml(model: nn.Module, out: Path, *, scale: int, precision: str = "fp16",
                  input_size=None, calibration=None) -> tuple[TensorSpec, TensorSpec]:
    """Write ``model`` at ``scale`` as an ML Program package; ``input_size`` is (H, W) or a list of them."""
    _check_precision(precision)
    sizes = _sizes(input_size)
    with atomic_folder(out) as tmp:
        _convert(network_for_scale(model, scale), model.spec.channels, sizes, precision,
                 TARGETS["single"]).save(str(tmp))
    factor = 1 if model.spec.upsampling == "pre" else scale
    return _specs(model.spec.channels, sizes, factor)


def export_coreml_shared(model: nn.Module, out: Path, *, scales: tuple[int, ...], precision: str = "fp16",
                         input_size=None, calibration=None) -> tuple[tuple[Head, ...], None]:
    """One multifunction package, function ``x<s>`` per scale; weights the functions share are
    stored once (they are bit-identical because every function is converted and compressed alike)."""
    ct = require("coremltools", "coreml")
    _check_precision(precision)
    sizes = _sizes(input_size)
    with atomic_folder(out) as tmp, tempfile.TemporaryDirectory() as d:
        descriptor = ct.utils.MultiFunctionDescriptor()
        for s in scales:
            path = Path(d) / f"x{s}.mlpackage"
            _convert(network_for_scale(model, s), model.spec.channels, sizes, precision,
                     TARGETS["multifunction"]).save(str(path))
            descriptor.add_function(str(path), src_function_name="main", target_function_name=f"x{s}")
        descriptor.default_function_name = f"x{scales[0]}"
        ct.utils.save_multifunction(descriptor, str(tmp))
    return tuple(Head(s, f"x{s}", *_specs(model.spec.channels, sizes, s)) for s in scales), None


def describe(package: str | Path) -> dict:
    """What a package holds, read without running it (works off macOS): per function, the input and
    output names, shapes and types and the list of MIL ops; and which ops hold compressed weights."""
    ct = require("coremltools", "coreml")
    from coremltools.converters.mil.frontend.milproto.load import load as load_mil

    spec = ct.utils.load_spec(str(package))
    weights = Path(package) / "Data" / "com.apple.CoreML" / "weights"
    program = load_mil(spec, specification_version=spec.specificationVersion, file_weights_dir=str(weights))

    def arrays(features) -> dict:
        out = {}
        for f in features:
            t = f.type.multiArrayType
            dtype = ct.proto.FeatureTypes_pb2.ArrayFeatureType.ArrayDataType.Name(t.dataType)
            shapes = [list(e.shape) for e in t.enumeratedShapes.shapes] or [list(t.shape)]
            out[f.name] = {"shape": list(t.shape), "dtype": dtype, "shapes": shapes}
        return out

    described = spec.description.functions or [spec.description]
    functions = {}
    for fn in described:
        name = getattr(fn, "name", "") or "main"
        ops = [op.op_type for op in program.functions[name].operations]
        functions[name] = {"inputs": arrays(fn.input), "outputs": arrays(fn.output),
                           "ops": [op for op in ops if op != "const"]}
    compressed = sorted({op for f in functions.values() for op in f["ops"] if op.startswith("constexpr_")})
    return {"specification_version": spec.specificationVersion, "functions": functions,
            "default_function": spec.description.defaultFunctionName or None,
            "compressed_weight_ops": compressed}

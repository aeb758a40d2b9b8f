"""What an artifact's graph holds, before it is deployed: its ops, the largest tensor rank, and what an
accelerator is known to hand back to the CPU.

``census(artifact, format)`` returns JSON types (it goes into every manifest as ``ops``)::

    {"ops": {"CONV_2D": 24, "DEPTH_TO_SPACE": 2, ...},   # op name -> count, all subgraphs / functions
     "max_rank": 4,                                     # largest rank of a tensor the graph computes
     "above_rank4": [[1, 1, 1, 3, 1, 128, 1, 128]],     # their shapes (at most 8, each once)
     "layout_ops": 0,                                   # TRANSPOSE / Transpose / transpose ops
     "cpu_fallback": [{"op": "BROADCAST_TO", "count": 1, "why": "..."}],
     "not_int8": [{"op": "CONV_2D", "count": 2, "output": "int16", "why": "..."}]}  # LiteRT, quantized graphs

``not_int8`` (LiteRT INT8 and W8A16) lists the ops of a quantized graph that do not compute in 8-bit
integers: 16-bit ones run on LiteRT's reference kernels (XNNPACK has none), float ones between a
DEQUANTIZE and a QUANTIZE; edgesr's INT8 has none.

``cpu_fallback`` lists what the LiteRT GPU delegate would not take, by its own rules:

* an op missing from ``CheckGpuDelegateCompatibility``'s switch is "Not supported op" (TensorFlow,
  tensorflow/lite/tools/versioning/gpu_compatibility.cc: BROADCAST_TO, for one, is not there);
* a tensor of rank above 4 fails the delegate's ``ExtractTensorShape`` ("has bad input dims size",
  tensorflow/lite/delegates/gpu/common/model_builder_helper.cc: BHWC layouts of rank 0-4 only);
  phone NPUs work on 4-D layouts too, so every format reports such tensors.

LiteRT's DEPTH_TO_SPACE CPU kernel has no int16 (tflite/kernels/depth_to_space.cc: float32, uint8,
int8, int32, int64), which is why edgesr's int16 pixel shuffles are SPLIT, CONCATENATION, RESHAPE.
TRANSPOSE is accepted by the GPU delegate at rank <= 4 but is a copy at its tensor's size; a graph
that keeps NHWC throughout has none, so ``layout_ops`` counts them.
"""

from __future__ import annotations

import importlib

from collections import Counter
from pathlib import Path
from typing import Any

from edgesr._deps import require
from edgesr.errors import EdgesrError

# tensorflow/lite/tools/versioning/gpu_compatibility.cc, CheckGpuDelegateCompatibility: the builtins it accepts
GPU_DELEGATE_OPS = frozenset("""
ABS ADD ADD_N AVERAGE_POOL_2D BATCH_MATMUL CAST CONCATENATION CONV_2D COS CUMSUM DENSIFY DEPTHWISE_CONV_2D
DEPTH_TO_SPACE DEQUANTIZE DIV ELU EQUAL EXP FLOOR FLOOR_DIV FLOOR_MOD FULLY_CONNECTED GATHER GELU GREATER
GREATER_EQUAL HARD_SWISH LEAKY_RELU LESS LESS_EQUAL LOG LOGICAL_AND LOGISTIC LSTM MAXIMUM MAX_POOL_2D MEAN
MINIMUM MIRROR_PAD MUL NEG NOT_EQUAL ONE_HOT PACK PAD PADV2 POW PRELU QUANTIZE REDUCE_MAX REDUCE_MIN
REDUCE_PROD RELU RELU6 RELU_N1_TO_1 RESHAPE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR RSQRT SELECT SELECT_V2
SIGN SIN SLICE SOFTMAX SPACE_TO_DEPTH SPLIT SPLIT_V SQRT SQUARE SQUARED_DIFFERENCE STRIDED_SLICE SUB SUM TANH
TILE TRANSPOSE TRANSPOSE_CONV
""".split())
MAX_RANK = 4  # what GPU delegates and NPUs take
_LAYOUT = {"TRANSPOSE", "Transpose", "transpose"}
_RANK_WHY = "a tensor of rank {rank} (the LiteRT GPU delegate and NPUs take rank <= 4)"


def census(artifact: str | Path, fmt: str) -> dict[str, Any]:
    """The census of ``artifact`` (a ``fmt`` artifact); ``{}`` for a format with none, and
    ``{"unavailable": why}`` where the package that reads it is missing."""
    from edgesr.backends import get_backend

    target = get_backend(fmt).census
    if target is None:
        return {}
    module, _, name = target.partition(":")
    try:
        return getattr(importlib.import_module(module), name)(Path(artifact))
    except EdgesrError as exc:  # a missing reader package: the export itself stands
        return {"unavailable": str(exc)}


def _summary(ops: list[tuple[str, list[list[int]]]], gpu_ops: frozenset[str] | None = None) -> dict[str, Any]:
    """From (op name, shapes of the tensors it reads and writes) in graph order."""
    counts = Counter(name for name, _ in ops)
    ranks = [len(s) for _, shapes in ops for s in shapes]
    big: list[list[int]] = []
    fallback: dict[tuple[str, str], int] = {}
    for name, shapes in ops:
        for shape in shapes:
            if len(shape) > MAX_RANK and shape not in big:
                big.append(shape)
        why = None
        if gpu_ops is not None and name not in gpu_ops:
            why = "not an op the LiteRT GPU delegate takes"
        elif any(len(s) > MAX_RANK for s in shapes):
            why = _RANK_WHY.format(rank=max(len(s) for s in shapes))
        if why:
            fallback[(name, why)] = fallback.get((name, why), 0) + 1
    return {"ops": dict(sorted(counts.items())), "max_rank": max(ranks, default=0), "above_rank4": big[:8],
            "layout_ops": sum(counts[n] for n in _LAYOUT), "cpu_fallback": [
                {"op": name, "count": n, "why": why} for (name, why), n in sorted(fallback.items())]}


def tflite_census(path: Path) -> dict[str, Any]:
    """LiteRT: every subgraph's operators (builtin names; custom ops by their custom code)."""
    schema = require("ai_edge_litert.schema_py_generated", "litert", "ai-edge-litert")
    flatbuffer_utils = require("ai_edge_litert.tools.flatbuffer_utils", "litert", "ai-edge-litert")
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    model = flatbuffer_utils.read_model(str(path))
    ops, computes = [], Counter()
    for graph in model.subgraphs:
        for op in graph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
            name = names.get(builtin, str(builtin))
            if builtin == schema.BuiltinOperator.CUSTOM:
                name = (code.customCode or b"CUSTOM").decode() if isinstance(code.customCode, bytes) else code.customCode
            tensors = [i for i in [*op.inputs, *op.outputs] if i >= 0]
            shapes = [[int(d) for d in graph.tensors[i].shape] for i in tensors if graph.tensors[i].shape is not None]
            ops.append((name, shapes))
            computes[(name, types.get(graph.tensors[op.outputs[0]].type, "?"))] += 1
    out = _summary(ops, GPU_DELEGATE_OPS)
    if any(dtype in ("INT8", "UINT8") for _, dtype in computes):  # a quantized graph: what is not int8
        out["not_int8"] = [{"op": name, "count": n, "output": dtype.lower(),
                            "why": "16-bit activations: LiteRT's reference kernels, not XNNPACK's" if dtype == "INT16"
                            else "computes in float between DEQUANTIZE and QUANTIZE"}
                           for (name, dtype), n in sorted(computes.items())
                           if dtype not in ("INT8", "UINT8") and name not in ("QUANTIZE", "DEQUANTIZE")]
    return out


def onnx_census(path: Path) -> dict[str, Any]:
    """ONNX: node op types (with their domain when not the default one), ranks by shape inference."""
    onnx = require("onnx", "onnx")
    model = onnx.shape_inference.infer_shapes(onnx.load(str(path), load_external_data=False))
    graph = model.graph
    ranks = {v.name: [d.dim_value or -1 for d in v.type.tensor_type.shape.dim]
             for v in [*graph.input, *graph.output, *graph.value_info] if v.type.tensor_type.HasField("shape")}
    ops = [(f"{n.domain}.{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type,
            [ranks[t] for t in [*n.input, *n.output] if t in ranks]) for n in graph.node]
    out = _summary(ops)
    modes = {next((a.s.decode() for a in n.attribute if a.name == "mode"), "DCR")
             for n in graph.node if n.op_type == "DepthToSpace"}
    if modes:
        out["depth_to_space_modes"] = sorted(modes)  # CRD is PyTorch's pixel shuffle order
    return out


def coreml_census(path: Path) -> dict[str, Any]:
    """Core ML: the MIL ops of every function of an ML program (consts left out), ranks of their outputs."""
    ct = require("coremltools", "coreml")
    spec = ct.utils.load_spec(str(path))
    if spec.WhichOneof("Type") != "mlProgram":
        return {"unavailable": f"a {spec.WhichOneof('Type')} model, not an ML program"}
    ops: list[tuple[str, list[list[int]]]] = []

    def walk(block) -> None:
        for op in block.operations:
            if op.type != "const":
                shapes = [[int(d.constant.size) if d.WhichOneof("dimension") == "constant" else -1
                           for d in o.type.tensorType.dimensions] for o in op.outputs
                          if o.type.WhichOneof("type") == "tensorType"]
                ops.append((op.type, shapes))
            for inner in op.blocks:
                walk(inner)

    for function in spec.mlProgram.functions.values():
        for block in function.block_specializations.values():
            walk(block)
    return _summary(ops)


def executorch_census(path: Path) -> dict[str, Any]:
    """ExecuTorch: per method, the delegate calls (``delegate:XnnpackBackend``) and the operators
    left outside any delegate (ExecuTorch's portable kernels, on the CPU whatever the delegate), with
    the ranks of the method's tensors."""
    require("executorch.exir", "executorch")
    from executorch.exir._serialize._program import deserialize_pte_binary

    program = deserialize_pte_binary(path.read_bytes())
    program = getattr(program, "program", program)
    ops, portable = [], Counter()
    for plan in program.execution_plan:  # "": the method's tensors, for the ranks
        ops.append(("", [list(v.val.sizes) for v in plan.values if type(v.val).__name__ == "Tensor"]))
        for chain in plan.chains:
            for ins in chain.instructions:
                args = ins.instr_args
                if type(args).__name__ == "DelegateCall":
                    ops.append((f"delegate:{plan.delegates[args.delegate_index].id}", []))
                elif type(args).__name__ == "KernelCall":
                    name = plan.operators[args.op_index].name
                    ops.append((name, []))
                    portable[name] += 1
    out = _summary(ops)
    out["ops"].pop("", None)
    out["cpu_fallback"] = [{"op": name, "count": n, "why": "outside the delegate: ExecuTorch's portable kernel"}
                           for name, n in sorted(portable.items())]
    return out


def openvino_census(path: Path) -> dict[str, Any]:
    """OpenVINO IR: the layers of ``model.xml`` (constants, parameters and results left out), ranks of
    their ports; read with the standard library."""
    import xml.etree.ElementTree as ET

    from edgesr.metadata.openvino import GRAPH

    ops = []
    for layer in ET.parse(path / GRAPH).getroot().iter("layer"):  # with those inside an If's branches
        if layer.get("type") in ("Const", "Parameter", "Result"):
            continue
        shapes = [[int(d.text) if (d.text or "").strip().lstrip("-").isdigit() else -1 for d in port.iterfind("dim")]
                  for port in layer.iterfind("*/port")]
        ops.append((layer.get("type", "?"), shapes))
    return _summary(ops)


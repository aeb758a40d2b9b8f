"""LiteRT's census: every subgraph's operators, the GPU delegate's fallbacks, what a quantized graph
does not compute in 8-bit integers (see :mod:`edgesr.formats.census`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from edgesr._deps import require
from edgesr.formats.census import GPU_DELEGATE_OPS, summarize


def census(path: Path) -> dict[str, Any]:
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
    out = summarize(ops, GPU_DELEGATE_OPS)
    if any(dtype in ("INT8", "UINT8") for _, dtype in computes):  # a quantized graph: what is not int8
        out["not_int8"] = [{"op": name, "count": n, "output": dtype.lower(),
                            "why": "16-bit activations: LiteRT's reference kernels, not XNNPACK's" if dtype == "INT16"
                            else "computes in float between DEQUANTIZE and QUANTIZE"}
                           for (name, dtype), n in sorted(computes.items())
                           if dtype not in ("INT8", "UINT8") and name not in ("QUANTIZE", "DEQUANTIZE")]
    return out

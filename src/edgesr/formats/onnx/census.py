"""ONNX's census: node op types and ranks by shape inference (see :mod:`edgesr.formats.census`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgesr._deps import require
from edgesr.formats.census import summarize


def census(path: Path) -> dict[str, Any]:
    """ONNX: node op types (with their domain when not the default one), ranks by shape inference."""
    onnx = require("onnx", "onnx")
    model = onnx.shape_inference.infer_shapes(onnx.load(str(path), load_external_data=False))
    graph = model.graph
    ranks = {v.name: [d.dim_value or -1 for d in v.type.tensor_type.shape.dim]
             for v in [*graph.input, *graph.output, *graph.value_info] if v.type.tensor_type.HasField("shape")}
    ops = [(f"{n.domain}.{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type,
            [ranks[t] for t in [*n.input, *n.output] if t in ranks]) for n in graph.node]
    out = summarize(ops)
    modes = {next((a.s.decode() for a in n.attribute if a.name == "mode"), "DCR")
             for n in graph.node if n.op_type == "DepthToSpace"}
    if modes:
        out["depth_to_space_modes"] = sorted(modes)  # CRD is PyTorch's pixel shuffle order
    return out

"""Core ML's census: the MIL ops of an ML program (see :mod:`edgesr.formats.census`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgesr._deps import require
from edgesr.formats.census import summarize


def census(path: Path) -> dict[str, Any]:
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
    return summarize(ops)

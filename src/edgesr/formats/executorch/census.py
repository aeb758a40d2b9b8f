"""ExecuTorch's census: delegate calls and the operators left to portable kernels (see
:mod:`edgesr.formats.census`)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from edgesr._deps import require
from edgesr.formats.census import summarize


def census(path: Path) -> dict[str, Any]:
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
    out = summarize(ops)
    out["ops"].pop("", None)
    out["cpu_fallback"] = [{"op": name, "count": n, "why": "outside the delegate: ExecuTorch's portable kernel"}
                           for name, n in sorted(portable.items())]
    return out

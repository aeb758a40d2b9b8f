"""ExecuTorch: torch.export lowered to XNNPACK (INT8: PT2E with edgesr's scheme), run by ExecuTorch's
runtime."""

from __future__ import annotations

from pathlib import Path

from edgesr.formats.base import INT8_SCHEME, INT8_WEIGHTS, Format
from edgesr.manifest import Grid, Scheme

INT8 = (f"PT2E static quantization with ExecuTorch's XNNPACK quantizer set to edgesr's scheme; activations "
        f"int8 asymmetric (the uint8 grid, shifted): {INT8_SCHEME}; biases float, folded by XNNPACK; XNNPACK "
        "accumulates in 32 bits on x86 and Arm")


class ExecuTorch(Format):
    def export_function(self):
        from edgesr.formats.executorch.export import export_executorch

        return export_executorch

    def runner_class(self) -> type:
        from edgesr.formats.executorch.runner import ExecuTorchRunner

        return ExecuTorchRunner

    def census(self, artifact: Path) -> dict:
        from edgesr.formats.executorch.census import census

        return census(artifact)


FORMAT = ExecuTorch(
    "executorch", ".pte", extra="executorch", precisions=("fp32", "int8"), runtime="executorch",
    runtime_module="executorch.runtime", converter_package="executorch", dynamic=False,
    tools=("executorch", "torchao"), shared=True, schemes={"int8": INT8},
    quant_schemes={"int8": Scheme("pt2e", INT8_WEIGHTS, Grid(8, True, False, "tensor", "edgesr"))})

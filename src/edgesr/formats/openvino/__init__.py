"""OpenVINO: the ONNX graph (INT8: its QDQ graph as FakeQuantize ops) converted to OpenVINO IR, run by
OpenVINO on the CPU (or an Intel GPU or NPU)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from edgesr.formats.base import INT8_ACTIVATIONS, INT8_SCHEME, INT8_WEIGHTS, Format
from edgesr.manifest import Scheme

INT8 = f"the ONNX INT8 QDQ graph as FakeQuantize ops; activations uint8 asymmetric: {INT8_SCHEME}"


def import_quietly() -> None:
    """Import openvino with its converter's usage telemetry off, before anything else imports it.

    OpenVINO's converter (ovc) sends each conversion's events to Google Analytics unless the user
    opted out in ``~/intel`` (openvino-telemetry, installed with openvino; a client id is written to
    ``~/intel/openvino_ga_cid``), forking a process per event from a thread: from the user's machine
    on edgesr's behalf, and, after another converter started threads (JAX, for LiteRT), the fork
    JAX warns may deadlock. ovc falls back to its own no-op stub when openvino_telemetry cannot be
    imported: it cannot while openvino imports, and can again after (for the user's own code). A
    process that imported openvino before edgesr keeps what it chose."""
    if "openvino" in sys.modules:
        return
    blocked = "openvino_telemetry" not in sys.modules
    if blocked:
        sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]  # import raises ImportError
    try:
        importlib.import_module("openvino")
    except ImportError:
        pass  # not installed: the caller's require names the install
    finally:
        if blocked:
            sys.modules.pop("openvino_telemetry", None)


class OpenVINO(Format):
    def require(self, module: str | None = None):
        import_quietly()
        return super().require(module)

    def export_function(self):
        from edgesr.formats.openvino.export import export_openvino

        return export_openvino

    def runner_class(self) -> type:
        from edgesr.formats.openvino.runner import OpenVINORunner

        return OpenVINORunner

    def metadata_module(self):
        from edgesr.formats.openvino import metadata

        return metadata

    def census(self, artifact: Path) -> dict:
        from edgesr.formats.openvino.census import census

        return census(artifact)


FORMAT = OpenVINO(
    "openvino", ".openvino", extra="openvino", precisions=("fp32", "fp16", "int8"), runtime="openvino",
    runtime_module="openvino", converter_package="openvino", dynamic=True, tools=("openvino",),
    devices=("cpu", "gpu", "npu"), runtime_extra="openvino-runtime", schemes={"int8": INT8}, metadata=True,
    quant_schemes={"int8": Scheme("fake_quantize", INT8_WEIGHTS, INT8_ACTIVATIONS)},
    shared=True)

"""OpenVINO: the ONNX graph (INT8: its QDQ graph as FakeQuantize ops) converted to OpenVINO IR, run by
OpenVINO on the CPU (or an Intel GPU or NPU)."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

from edgesr.formats.base import INT8_ACTIVATIONS, INT8_SCHEME, INT8_WEIGHTS, Format
from edgesr.manifest import Scheme

INT8 = f"the ONNX INT8 QDQ graph as FakeQuantize ops; activations uint8 asymmetric: {INT8_SCHEME}"


# OpenVINO 2026.4.1's CPU plugin computes the top and bottom output rows of masrn's INT8 graph wrongly
# with its AMX int8 kernels (an Intel Xeon with amx_int8: masrn x2 at 256x256, 144x144 and 140x140 LR
# inputs 37-40 dB from ONNX Runtime on the same graph, up to 0.28 off per pixel, so the export's
# check refused it at -1.5 to -2.2 dB; its AVX-512 VNNI kernels agree with ONNX Runtime to 53.5 dB).
# oneDNN's ISA cap, read when the plugin starts, keeps it off AMX: set where the CPU has AMX and the
# user has not set it. INT8 there runs on VNNI instead (AMX's speed is given up for right answers).
ISA_CAP = ("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_VNNI")


def _cap_isa() -> None:
    from edgesr.runtimes.measure import cpu_info

    name, value = ISA_CAP
    if name not in os.environ and "amx_int8" in cpu_info()["int_flags"]:
        os.environ[name] = value


def import_quietly() -> None:
    """Import openvino with its converter's usage telemetry off and, on a CPU with AMX, oneDNN kept
    off AMX (``ISA_CAP``), before anything else imports it.

    OpenVINO's converter (ovc) sends each conversion's events to Google Analytics unless the user
    opted out in ``~/intel`` (openvino-telemetry, installed with openvino; a client id is written to
    ``~/intel/openvino_ga_cid``), forking a process per event from a thread: from the user's machine
    on edgesr's behalf, and, after another converter started threads (JAX, for LiteRT), the fork
    JAX warns may deadlock. ovc falls back to its own no-op stub when openvino_telemetry cannot be
    imported: it cannot while openvino imports, and can again after (for the user's own code). A
    process that imported openvino before edgesr keeps the telemetry it chose; the ISA cap still
    applies until OpenVINO's CPU plugin loads."""
    _cap_isa()  # read when the CPU plugin loads (the first compile), so also after an import of openvino
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

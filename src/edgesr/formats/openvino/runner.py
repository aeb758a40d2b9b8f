"""Runs an OpenVINO IR artifact (a folder holding ``model.xml`` and ``model.bin``) with OpenVINO:
on the CPU, or on an Intel GPU or NPU (``device="gpu"``/``"npu"``) where OpenVINO finds one.

On the CPU, every artifact computes in float32 (``INFERENCE_PRECISION_HINT`` f32; an INT8 one in
int8 where the converted QDQ graph put FakeQuantize, float32 between): OpenVINO's CPU default is bfloat16 on CPUs with
AVX-512 BF16 or AMX, which would make the same artifact give other numbers there. On a GPU an FP32
artifact is held to float32 too; FP16 and INT8 ones take the GPU's default (float16)."""

from __future__ import annotations


import numpy as np

from edgesr.errors import ArtifactError, MissingDependencyError
from edgesr.formats.base import get_format
from edgesr.formats.openvino.metadata import GRAPH  # inside the artifact folder, beside model.bin
from edgesr.runtimes.base import GraphRunner, cannot_load

DEVICES = {"cpu": "CPU", "gpu": "GPU", "npu": "NPU"}


class OpenVINORunner(GraphRunner):
    name = "openvino"
    DEVICES = DEVICES
    compiled = request = None

    @staticmethod
    def available() -> str | None:
        """"openvino VERSION" where it is installed, else None."""
        try:
            openvino = get_format("openvino").require()  # as the format imports it (no telemetry; off AMX)
        except MissingDependencyError:
            return None
        return f"openvino {_version(openvino)}"

    def config(self) -> dict:
        """The properties the model is compiled with."""
        config = {}
        if self.threads and self.device == "cpu":
            config["INFERENCE_NUM_THREADS"] = self.threads
        if self.device == "cpu" or (self.device == "gpu" and self.manifest.precision == "fp32"):
            config["INFERENCE_PRECISION_HINT"] = "f32"
        return config

    def activate(self) -> None:
        ov = get_format(self.manifest.format).require("openvino")
        core = ov.Core()
        target = DEVICES[self.device]
        found = core.available_devices
        if not any(d.split(".")[0] == target for d in found):
            raise ArtifactError(f"OpenVINO finds no {target} here (it finds {', '.join(found) or 'no device'}); "
                                f"install the {target} driver OpenVINO needs, or run it with --device cpu")
        graph = self.artifact / GRAPH
        if not graph.is_file():
            raise ArtifactError(f"cannot load {self.artifact}: no {GRAPH} inside (an OpenVINO artifact is a folder "
                                f"holding {GRAPH} and model.bin); re-export it")
        try:
            self.compiled = core.compile_model(str(graph), target, self.config())
        except Exception as exc:  # RuntimeError from the IR reader or the plugin
            raise cannot_load(self.artifact, exc) from exc
        self.request = self.compiled.create_infer_request()
        self.runtime_version = f"openvino {_version(ov)}"
        super().activate()

    def deactivate(self) -> None:
        self.compiled = self.request = None
        super().deactivate()

    def _call(self, entry: str, feeds: dict[str, np.ndarray], output: str) -> np.ndarray:
        """The one place the compiled model is touched (the device harness records and replays here)."""
        self.request.infer(feeds)
        return self.request.get_tensor(output).data.copy()


def _version(ov) -> str:
    """OpenVINO's release (2026.4.1 of "2026.4.1-22982-e213a147257-releases/2026/4")."""
    return str(getattr(ov, "__version__", "?")).split("-")[0]

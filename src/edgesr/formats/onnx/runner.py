"""Runs an ONNX artifact with ONNX Runtime: on CPU, or on an NVIDIA GPU through the CUDA execution
provider (``device="cuda"``; needs the onnxruntime-gpu wheel instead of onnxruntime)."""

from __future__ import annotations


import numpy as np

from edgesr.errors import ArtifactError
from edgesr.formats.base import get_format
from edgesr.runtimes.base import GraphRunner, cannot_load, first_line

DEVICES = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider"}


class OnnxRuntimeRunner(GraphRunner):
    name = "onnxruntime"
    DEVICES = DEVICES
    session = None

    @staticmethod
    def available() -> str | None:
        """"onnxruntime VERSION" where it is installed, else None."""
        try:
            import onnxruntime
        except ImportError:
            return None
        return f"onnxruntime {onnxruntime.__version__}"

    def activate(self) -> None:
        ort = get_format(self.manifest.format).require("onnxruntime")
        options = ort.SessionOptions()
        if self.threads:
            options.intra_op_num_threads = self.threads
        options.log_severity_level = 3
        provider = DEVICES[self.device]
        if provider not in ort.get_available_providers():
            raise ArtifactError(f"onnxruntime here has no {provider}; for device={self.device!r} install "
                                "onnxruntime-gpu in place of onnxruntime, on a machine with an NVIDIA GPU")
        try:
            session = ort.InferenceSession(str(self.artifact), options, providers=[provider])
        except Exception as exc:  # InvalidProtobuf, Fail, a provider that cannot start: not edgesr's errors
            if self.device != "cpu" and _names_provider(exc):
                raise ArtifactError(f"onnxruntime could not start {provider} for {self.artifact.name}: "
                                    f"{first_line(exc)}; check the NVIDIA driver and the CUDA and cuDNN versions "
                                    "onnxruntime-gpu needs, or run it with --device cpu") from exc
            raise cannot_load(self.artifact, exc) from exc
        if session.get_providers()[:1] != [provider]:  # onnxruntime fell back to the CPU
            raise ArtifactError(f"onnxruntime could not start {provider} for {self.artifact.name} (it fell back to "
                                f"{', '.join(session.get_providers())}); check the NVIDIA driver and the CUDA and "
                                "cuDNN versions onnxruntime-gpu needs, or run it with --device cpu")
        self.session, self.runtime_version = session, f"onnxruntime {ort.__version__}"
        super().activate()

    def deactivate(self) -> None:
        self.session = None
        super().deactivate()

    def _call(self, entry: str, feeds: dict[str, np.ndarray], output: str) -> np.ndarray:
        """The one place the session is touched (the device harness records and replays here)."""
        return self.session.run([output], feeds)[0]


def _names_provider(exc: BaseException) -> bool:
    text = str(exc)
    return any(word in text for word in ("CUDA", "cuda", "cuDNN", "cudnn", "ExecutionProvider"))


"""Runs a TensorRT for RTX engine on an RTX GPU, and refuses in one line where there is none."""

from __future__ import annotations

from edgesr.errors import ArtifactError
from edgesr.formats.base import get_format
from edgesr.formats.engines import EngineRunner


def _capability(major: int, minor: int) -> str:
    return f"sm{major}{minor}"


class TensorRTForRTXRunner(EngineRunner):
    name = "tensorrt-rtx"

    def check_gpu(self, torch) -> None:
        targets = get_format(self.manifest.format).targets  # what its builder takes
        if not torch.cuda.is_available():
            raise ArtifactError(f"{self.artifact.name}: a TensorRT for RTX engine runs on an NVIDIA RTX GPU "
                                f"({', '.join(targets)}), and CUDA sees no GPU here")
        gpu = _capability(*torch.cuda.get_device_capability())
        built = self.manifest.targets or tuple(t for t in targets if int(t[2:]) >= 80)  # the default: 8.0 and later
        if gpu not in built:
            raise ArtifactError(f"{self.artifact.name}: this {torch.cuda.get_device_name()} is {gpu}; the engine was "
                                f"built for {', '.join(built)} (TensorRT for RTX runs on RTX GPUs, not on {gpu}): "
                                "export it with --targets for this GPU, or use -f onnx on it")

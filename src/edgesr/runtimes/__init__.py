"""Runners: one network, one backend, one ``run`` contract (float32 NCHW numpy in and out); the
image pipeline above them is :mod:`edgesr.inference`. Importing this package imports neither PyTorch
nor a runtime (``TorchRunner`` imports PyTorch when first used; each runner its runtime when activated)."""

from edgesr.runtimes.base import ArtifactRunner, Runner
from edgesr.runtimes.registry import open_runner

__all__ = ["ArtifactRunner", "Runner", "TorchRunner", "open_runner"]


def __getattr__(name: str):
    if name == "TorchRunner":
        from edgesr.runtimes.torch import TorchRunner

        return TorchRunner
    raise AttributeError(f"module 'edgesr.runtimes' has no attribute {name!r}")

"""Runners: one network, one backend, one ``infer`` contract. Importing this package does not
import PyTorch (``TorchRunner`` does, when first used)."""

from edgesr.runtimes.base import Runner

__all__ = ["Runner", "TorchRunner"]


def __getattr__(name: str):
    if name == "TorchRunner":
        from edgesr.runtimes.torch import TorchRunner

        return TorchRunner
    raise AttributeError(f"module 'edgesr.runtimes' has no attribute {name!r}")

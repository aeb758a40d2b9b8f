"""Runners: one network, one backend, one ``infer`` contract."""

from edgesr.runtimes.base import Runner
from edgesr.runtimes.torch import TorchRunner

__all__ = ["Runner", "TorchRunner"]

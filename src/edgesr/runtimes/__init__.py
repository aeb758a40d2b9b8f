"""Runners: one network, one ``run`` contract (float32 NCHW numpy in and out); the image pipeline above
them is :mod:`edgesr.inference`, each format's runner is in its package (:mod:`edgesr.formats`), and
:func:`edgesr.formats.registry.open_runner` opens an artifact with its format's runner. Importing this
package imports neither PyTorch nor a runtime (``TorchRunner`` imports PyTorch when first used)."""

from edgesr.runtimes.base import ArtifactRunner, Runner

__all__ = ["ArtifactRunner", "Runner", "TorchRunner"]


def __getattr__(name: str):
    if name == "TorchRunner":
        from edgesr.runtimes.torch import TorchRunner

        return TorchRunner
    raise AttributeError(f"module 'edgesr.runtimes' has no attribute {name!r}")

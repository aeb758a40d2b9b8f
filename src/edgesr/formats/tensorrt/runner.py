"""Runs a TensorRT engine on an NVIDIA GPU (:class:`edgesr.formats.engines.EngineRunner`)."""

from __future__ import annotations

from edgesr.formats.engines import EngineRunner


class TensorRTRunner(EngineRunner):
    name = "tensorrt"

"""Pieces every exporter shares: the network for one scale, its input shape, atomic output."""

from __future__ import annotations

from pathlib import Path

from edgesr._files import atomic_path
from edgesr.models.scale import ScaleBound, network_for_scale, network_input_size

__all__ = ["ScaleBound", "atomic_output", "network_for_scale", "network_input_size"]


def atomic_output(out: Path):
    """Yield a temporary path beside ``out`` (same suffix); it becomes ``out`` only if the block succeeds."""
    return atomic_path(out, suffix=out.suffix)

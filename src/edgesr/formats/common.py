"""What every exporter shares: atomic output."""

from __future__ import annotations

from pathlib import Path

from edgesr._files import atomic_path


def atomic_output(out: Path):
    """Yield a temporary path beside ``out`` (same suffix); it becomes ``out`` only if the block succeeds."""
    return atomic_path(out, suffix=out.suffix)

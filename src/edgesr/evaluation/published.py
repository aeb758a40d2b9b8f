"""Published reference figures (PSNR, SSIM), kept as data in ``published.json``."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def _table() -> dict:
    return json.loads((Path(__file__).with_name("published.json")).read_text())


def published(model: str, dataset: str, scale: int) -> tuple[float, float | None] | None:
    """``(psnr, ssim)`` as published for ``model`` on ``dataset`` at ``scale`` (ssim may be None)."""
    cell = _table().get(model, {}).get(dataset, {}).get(str(scale))
    return None if cell is None else (cell[0], cell[1])

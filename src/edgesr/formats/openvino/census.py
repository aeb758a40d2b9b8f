"""OpenVINO's census: the IR's layers, read with the standard library (see :mod:`edgesr.formats.census`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgesr.formats.census import summarize


def census(path: Path) -> dict[str, Any]:
    """OpenVINO IR: the layers of ``model.xml`` (constants, parameters and results left out), ranks of
    their ports; read with the standard library."""
    import xml.etree.ElementTree as ET

    from edgesr.formats.openvino.metadata import GRAPH

    ops = []
    for layer in ET.parse(path / GRAPH).getroot().iter("layer"):  # with those inside an If's branches
        if layer.get("type") in ("Const", "Parameter", "Result"):
            continue
        shapes = [[int(d.text) if (d.text or "").strip().lstrip("-").isdigit() else -1 for d in port.iterfind("dim")]
                  for port in layer.iterfind("*/port")]
        ops.append((layer.get("type", "?"), shapes))
    return summarize(ops)

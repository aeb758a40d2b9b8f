"""The I/O contract inside an OpenVINO IR: the model's ``rt_info`` (what ``Model.get_rt_info()``
returns to an app, and what OpenVINO's tools show), in ``model.xml`` of the artifact folder.

``rt_info`` holds the whole contract as JSON under ``edgesr`` and, for apps that read single keys,
``edgesr_keys``: a description (the contract in words) and the flat keys of
:func:`edgesr.metadata.flat_keys`. Only ``model.xml``'s ``rt_info`` element is rewritten (with the
standard library's XML module): the graph and ``model.bin`` stay as they are, and reading needs
neither OpenVINO nor torch."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from edgesr.errors import ArtifactError
from edgesr.metadata import KEY, dumps, flat_keys, loads, summary

GRAPH = "model.xml"  # inside the artifact folder, beside model.bin
KEYS = f"{KEY}_keys"


def _parse(path: Path) -> ET.ElementTree:
    graph = path / GRAPH
    try:
        tree = ET.parse(graph)
    except ET.ParseError as exc:
        raise ArtifactError(f"cannot read {graph} as an OpenVINO IR ({exc}); re-export it") from exc
    except OSError as exc:
        raise ArtifactError(f"cannot read {graph}: {exc.strerror or exc} (an OpenVINO artifact is a folder holding "
                            f"{GRAPH} and model.bin); re-export it") from exc
    if tree.getroot().tag != "net":
        raise ArtifactError(f"{graph} is not an OpenVINO IR (its root is <{tree.getroot().tag}>); re-export it")
    return tree


def embed(path: Path, data: dict[str, Any]) -> None:
    tree = _parse(path)
    root = tree.getroot()
    info = root.find("rt_info")
    if info is None:
        info = ET.SubElement(root, "rt_info")
    for old in [e for e in info if e.tag in (KEY, KEYS)]:
        info.remove(old)
    ET.SubElement(info, KEY, value=dumps(data))
    keys = ET.SubElement(info, KEYS)
    for name, value in {"description": summary(data), **flat_keys(data)}.items():
        ET.SubElement(keys, name, value=value)
    ET.indent(tree, "\t")
    tree.write(path / GRAPH, encoding="utf-8", xml_declaration=True)


def read(path: Path) -> dict[str, Any]:
    """The contract from ``model.xml``'s ``rt_info``."""
    entry = _parse(path).getroot().find(f"rt_info/{KEY}")
    if entry is None or entry.get("value") is None:
        raise ArtifactError(f"{path}: no edgesr metadata inside (exported before edgesr wrote it); re-export it")
    return loads(entry.get("value"), str(path))

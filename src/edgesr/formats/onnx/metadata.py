"""The I/O contract inside an ONNX model: ``metadata_props`` (what ONNX Runtime's
``get_modelmeta().custom_metadata_map`` and Netron show), ``doc_string`` and ``model_version``.

``metadata_props`` holds the whole contract as JSON under ``edgesr`` and, for apps that read single
keys, flat ones: ``colour``, ``upsampling``, ``scales``, ``layout``, ``input_dtype``, ``output_dtype``,
``normalisation_mean``, ``normalisation_std``, ``tile_overlap``, ``tile_pad``, ``size``,
``scale_input``, ``edgesr_version``, ``weights_sha256``, ``io`` (:func:`edgesr.metadata.flat_keys`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgesr.errors import ArtifactError
from edgesr.metadata import KEY, dumps, flat_keys, loads, summary


def model_version(version: str) -> int:
    """edgesr's version as ONNX's int64 ``model_version``: 1.2.3 -> 10203."""
    parts = [int(p) if p.isdigit() else 0 for p in (version.split("+")[0].split(".") + ["0", "0"])[:3]]
    return parts[0] * 10000 + parts[1] * 100 + parts[2]


def embed(path: Path, data: dict[str, Any]) -> None:
    import onnx

    model = onnx.load(str(path))
    props = {KEY: dumps(data), **flat_keys(data)}
    keep = [p for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.doc_string = summary(data)
    model.model_version = model_version(data["edgesr_version"])
    onnx.save(model, str(path))


def read(path: Path) -> dict[str, Any]:
    """The contract from ``metadata_props`` (ModelProto field 14), read from the protobuf bytes:
    no onnx package or runtime needed."""
    from edgesr.metadata.protobuf import WireError, string_map

    try:
        props = string_map(path.read_bytes(), 14)
    except (WireError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"cannot read {path} as an ONNX model ({exc}); re-export it") from exc
    except OSError as exc:
        raise ArtifactError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if KEY not in props:
        raise ArtifactError(f"{path}: no edgesr metadata inside (exported before edgesr 0.1 wrote it); re-export it")
    return loads(props[KEY], str(path))

"""The I/O contract inside a Core ML package, in the model spec's own fields (what Xcode's model page
and ``MLModel.modelDescription`` show): ``shortDescription`` (the contract in words),
``versionString`` (edgesr's version), ``author``, ``license``, a ``shortDescription`` on each input and
output of every function (what to feed and what comes out: colour, size, value range, normalisation)
and ``userDefined`` metadata: the whole contract as JSON under ``edgesr`` plus flat keys for apps that
read single ones (those of :func:`edgesr.metadata.flat_keys`).

Only the spec (``Data/com.apple.CoreML/model.mlmodel``, or where the package's ``Manifest.json``
puts it) is rewritten: the weights stay as they are. coremltools is imported when used."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from edgesr._deps import require
from edgesr.errors import ArtifactError
from edgesr.metadata import KEY, LICENSE, dumps, flat_keys, loads, summary

AUTHOR = "edgesr"


def _spec_file(path: Path) -> Path:
    """The package's root model spec, as its ``Manifest.json`` names it."""
    try:
        info = json.loads((path / "Manifest.json").read_text())
        item = info["itemInfoEntries"][info["rootModelIdentifier"]]
        spec = path / "Data" / item["path"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{path}: not a Core ML package (its Manifest.json cannot be read: "
                            f"{type(exc).__name__}); re-export it") from exc
    if not spec.is_file():
        raise ArtifactError(f"{path}: its model spec {item['path']} is missing; re-export it")
    return spec


def _load(path: Path):
    source = _spec_file(path)  # before importing coremltools (seconds): a wrong path fails at once
    ct = require("coremltools", "coreml")
    spec = ct.proto.Model_pb2.Model()
    try:
        spec.ParseFromString(source.read_bytes())
    except Exception as exc:  # protobuf's DecodeError
        raise ArtifactError(f"cannot read {path}'s model spec ({type(exc).__name__}); re-export it") from exc
    return spec


def _save(path: Path, spec) -> None:
    target = _spec_file(path)
    tmp = target.with_name(f".{target.name}.edgesr")
    tmp.write_bytes(spec.SerializeToString(deterministic=True))  # map entries sorted, not in hash order
    os.replace(tmp, target)


def settle(path: Path) -> None:
    """Make a package's bytes a function of its contents: coremltools names the package's items by
    random UUIDs (``Manifest.json``) and writes the spec's maps in hash order, so two exports of
    one model differed. The items are named by a UUID derived from their path instead, and the
    spec is written with its maps sorted."""
    import uuid

    manifest = path / "Manifest.json"
    info = json.loads(manifest.read_text())
    names = {old: str(uuid.uuid5(uuid.NAMESPACE_URL, f"edgesr:{entry['path']}"))
             for old, entry in info["itemInfoEntries"].items()}
    info["itemInfoEntries"] = {names[old]: entry for old, entry in info["itemInfoEntries"].items()}
    info["rootModelIdentifier"] = names[info["rootModelIdentifier"]]
    manifest.write_text(json.dumps(info, indent=4, sort_keys=True) + "\n")
    _save(path, _load(path))


def _size(t: dict[str, Any]) -> str:
    if t["height"]:
        return f"{t['width']}x{t['height']} (WxH)"
    if t.get("sizes"):
        return "one of " + ", ".join(f"{w}x{h}" for h, w in t["sizes"]) + " (WxH)"
    return "any size"


def _pixels(t: dict[str, Any]) -> str:
    """How ``t`` holds pixels: an image of 0-255, or a tensor with its normalisation."""
    colour = "RGB" if t["channels"] == 3 else "Y (ITU-R BT.601 luma, MATLAB rgb2ycbcr)"
    if t["layout"] == "image":
        kind = "8-bit RGB image" if t["dtype"] == "uint8" else f"16-bit float grayscale image of {colour}"
        return f"{kind}, {_size(t)}, pixels 0-255"
    n, (lo, hi) = t["normalisation"], t["value_range"]
    return (f"{t['dtype']} {t['layout']} tensor 1x{t['channels']}xHxW of {colour}, {_size(t)}, "
            f"value = (pixel - {n['mean']:g}) / {n['std']:g} (on {lo:g}-{hi:g})")


def feature_descriptions(data: dict[str, Any], head: dict[str, Any]) -> dict[str, str]:
    """{feature name: what to feed it / what it gives} for one scale's input and output."""
    scale, inp, out = head["scale"], head["input"], head["output"]
    feed = (f"the LR image bicubic-upscaled x{scale} (MATLAB imresize)" if data["upsampling"] == "pre"
            else f"the LR image (the output is {scale}x its size)")
    scaled = " (the model divides by 255 itself)" if inp["layout"] == "image" else ""
    read = ("clamped to 0-255 inside the model" if out["layout"] == "image"
            else "clamp to 0-255 and round")
    tiles = f"; larger images: tiles overlapping by {data['tile']['overlap']} pixels" if data["size"] != "dynamic" else ""
    return {inp["name"]: f"Feed {feed}: {_pixels(inp)}{scaled}{tiles}.",
            out["name"]: f"The x{scale} super-resolved image: {_pixels(out)}; {read}."}


def _heads(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{function name ("" for a single-function package): its scale and tensors}."""
    if data["heads"]:
        return {h["entry"]: h for h in data["heads"]}
    return {"": {"scale": data["scales"][0], "input": data["input"], "output": data["output"]}}


def _describe_features(spec, data: dict[str, Any]) -> None:
    heads = _heads(data)
    described = [(fn, heads.get(fn.name)) for fn in spec.description.functions]
    default = heads.get(spec.description.defaultFunctionName or "", next(iter(heads.values())))
    described.append((spec.description, default))  # single-function packages; the default function's copy
    for fn, head in described:
        if head is None:
            raise ArtifactError(f"the package's function {fn.name!r} is none of the contract's "
                                f"({', '.join(heads)}); re-export it")
        texts = feature_descriptions(data, head)
        for feature in [*fn.input, *fn.output]:
            if feature.name in texts:
                feature.shortDescription = texts[feature.name]


def embed(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` into the package's spec (the weights are not touched)."""
    spec = _load(path)
    meta = spec.description.metadata
    meta.shortDescription = summary(data)
    meta.versionString = data["edgesr_version"]
    meta.author = AUTHOR
    meta.license = LICENSE
    for key, value in {KEY: dumps(data), **flat_keys(data)}.items():
        meta.userDefined[key] = value
    _describe_features(spec, data)
    _save(path, spec)


def read(path: Path) -> dict[str, Any]:
    """The contract from the spec's user-defined metadata (Model.description = 2, its metadata =
    100, userDefined = 100), read from the protobuf bytes: no coremltools (nor torch) needed."""
    from edgesr.metadata.protobuf import WireError, message, string_map

    try:
        stored = string_map(message(_spec_file(path).read_bytes(), 2, 100), 100)
    except WireError as exc:
        raise ArtifactError(f"cannot read {path}'s model spec ({exc}); re-export it") from exc
    if KEY not in stored:
        raise ArtifactError(f"{path}: no edgesr metadata inside (exported before edgesr 0.1 wrote it); re-export it")
    return loads(stored[KEY], str(path))


def fields(path: Path) -> dict[str, Any]:
    """The spec's own descriptive fields, as Xcode shows them: short description, version, author,
    license, user-defined metadata and, per function ("" for the package's own description), each
    feature's description."""
    spec = _load(Path(path))
    meta = spec.description.metadata
    functions = {fn.name: {f.name: f.shortDescription for f in [*fn.input, *fn.output]}
                 for fn in spec.description.functions}
    functions[""] = {f.name: f.shortDescription for f in [*spec.description.input, *spec.description.output]}
    return {"short_description": meta.shortDescription, "version": meta.versionString, "author": meta.author,
            "license": meta.license, "user_defined": dict(meta.userDefined), "features": functions}

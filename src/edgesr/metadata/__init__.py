"""The I/O contract every artifact carries inside itself: what an app feeds it and reads from it.

The contract is the part of the manifest an app needs (colour, upsampling, scales and how each is
chosen, the input and output tensors with their layout, dtype, value range and integer quantization,
the pixel normalisation, fixed or dynamic size, the tile overlap and pad mode, the activation memory
per input pixel, the edgesr version and the weights' sha256), as one JSON object. Each format stores
it where its tools look:

- ONNX: ``metadata_props`` (key ``edgesr``, plus flat keys), ``doc_string`` and ``model_version``
  (:mod:`edgesr.formats.onnx.metadata`);
- LiteRT: the TFLite metadata flatbuffer (description, image properties and normalisation on the
  input and the output) plus the JSON as a model metadata entry (:mod:`edgesr.formats.tflite.metadata`);
- Core ML: short description, version, license, input and output descriptions and user-defined
  metadata (:mod:`edgesr.formats.coreml.metadata`).

A format's ``metadata`` module has ``embed(artifact, contract)`` (called by ``edgesr export`` on the
staged artifact, before its sha256 is taken) and ``read(artifact) -> contract``, which reads the artifact
alone, no sidecar; :mod:`edgesr.formats.registry` calls the right one. Nothing here imports PyTorch.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from edgesr.errors import ArtifactError

KEY = "edgesr"  # the name each format stores the contract JSON under
CONTRACT_VERSION = 1
# keys written since contract version 1 was first written (readers ignore keys they do not know)
ADDED_KEYS = ("activation_bytes_per_pixel",)
TILE_PAD = "edge"  # how an input smaller than a fixed-size artifact's tile is padded (numpy/edge: replicate)
LICENSE = "the license of the weights' owner (edgesr writes none)"


def normalisation(value_range) -> dict[str, float]:
    """``tensor = (pixel - mean) / std`` for pixels on 0-255 mapped onto ``value_range`` (before any
    integer quantization): (0, 1) -> mean 0, std 255; (0, 255) -> mean 0, std 1."""
    lo, hi = (float(v) for v in value_range)
    std = 255.0 / (hi - lo)
    return {"mean": 0.0 - lo * std + 0.0, "std": std}  # + 0.0: no -0


def _tensor(spec) -> dict[str, Any]:
    t = dataclasses.asdict(spec) if dataclasses.is_dataclass(spec) else dict(spec)
    return {**t, "normalisation": normalisation(t["value_range"])}


def contract(manifest) -> dict[str, Any]:
    """The contract of ``manifest`` (an :class:`edgesr.manifest.Manifest`), as JSON types."""
    m = manifest
    heads = [{"scale": h.scale, "entry": h.entry, "input": _tensor(h.input), "output": _tensor(h.output)}
             for h in m.heads]
    fixed = m.input.height is not None and m.input.width is not None
    data = {
        "contract_version": CONTRACT_VERSION,
        "edgesr_version": m.tools.get("edgesr", ""),
        "model": m.model,
        "format": m.format,
        "precision": m.precision,
        "io": m.io,
        "colour": m.colour,
        "upsampling": m.upsampling,
        "scales": list(m.scales),
        "scale_input": m.scale_input,
        "input": _tensor(m.input),
        "output": _tensor(m.output),
        "heads": heads,
        "size": "fixed" if fixed else ("enumerated" if m.input.sizes else "dynamic"),
        "tile": {"overlap": m.receptive_radius or 0, "pad": TILE_PAD},
        "weights_sha256": m.weights_sha256,
        "quantization": m.quantization,
        "quant_method": m.quant_method,
        # what a runner plans its memory by (tiles, refusals): an edited value would make it allocate blind
        "activation_bytes_per_pixel": m.activation_bytes_per_pixel,
    }
    return json.loads(json.dumps(data))  # tuples as lists: what reading the JSON back gives


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def loads(text: str | bytes, where: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ArtifactError(f"{where}: its edgesr metadata is not valid JSON ({exc}); re-export it") from exc
    if not isinstance(data, dict) or "contract_version" not in data:
        raise ArtifactError(f"{where}: its edgesr metadata is not an edgesr I/O contract; re-export it")
    return data


def flat_keys(data: dict[str, Any]) -> dict[str, str]:
    """The contract's main facts as single string keys, for apps and tools that read one key at a time."""
    inp = data["input"]
    return {
        "colour": data["colour"], "upsampling": data["upsampling"],
        "scales": ",".join(str(s) for s in data["scales"]), "layout": inp["layout"],
        "input_dtype": inp["dtype"], "output_dtype": data["output"]["dtype"],
        "normalisation_mean": f"{inp['normalisation']['mean']:g}", "normalisation_std": f"{inp['normalisation']['std']:g}",
        "tile_overlap": str(data["tile"]["overlap"]), "tile_pad": data["tile"]["pad"], "size": data["size"],
        "scale_input": data["scale_input"] or "", "edgesr_version": data["edgesr_version"],
        "weights_sha256": data["weights_sha256"] or "", "io": data["io"],
    }


def summary(data: dict[str, Any]) -> str:
    """The contract in a few sentences, for the formats' description fields."""
    scales = ", ".join(f"x{s}" for s in data["scales"])
    colour = "the Y channel (ITU-R BT.601, MATLAB rgb2ycbcr)" if data["colour"] == "y" else "RGB"
    feed = ("the LR image bicubic-upscaled to the output size (MATLAB imresize)" if data["upsampling"] == "pre"
            else "the LR image")
    inp, out = data["input"], data["output"]

    def tensor(t: dict) -> str:
        n = t["normalisation"]
        q = t.get("quantization")
        size = f"{t['height']}x{t['width']}" if t["height"] else "any HxW"
        quant = f", stored as {t['dtype']} with scale {q[0]:.6g} and zero point {q[1]}" if q else ""
        if q and abs(q[0] * 255 - 1) < 1e-6 and (n["mean"], n["std"]) == (0.0, 255.0):  # the integer is the pixel
            quant = f", stored as {t['dtype']} = pixel" + (f" {'+' if q[1] > 0 else '-'} {abs(q[1])}" if q[1] else "")
        value = f"pixel - {n['mean']:g}" if n["mean"] else "pixel"
        value = f"({value}) / {n['std']:g}" if n["mean"] and n["std"] != 1 else (
            f"{value} / {n['std']:g}" if n["std"] != 1 else value)
        return f"{t['layout']} {t['dtype']} {t['channels']}-channel {size}, value = {value}{quant}"

    read = ("already 0-255, clamped inside the model" if out["layout"] == "image" else
            "integers: clamped by their range" if out.get("quantization") else "clamp to 0-255 and round")
    choose = (f" The scale is the int64 input '{data['scale_input']}'." if data.get("scale_input") else
              " Each scale has its own entry." if len(data["scales"]) > 1 else "")
    tiles = (f" Larger images run as tiles overlapping by {data['tile']['overlap']} input pixels each side; smaller "
             f"ones are padded ({data['tile']['pad']})." if data["size"] != "dynamic" else
             f" Tiles need {data['tile']['overlap']} input pixels of overlap each side to give the full-image output.")
    return (f"edgesr {data['model']} super-resolution ({scales}, {data['precision']}) on {colour}. Feed {feed}: "
            f"{tensor(inp)}. Read the {out['channels']}-channel output ({tensor(out)}); {read}.{choose}{tiles}")


def check_agrees(artifact: str | os.PathLike, manifest, inside: dict[str, Any]) -> None:
    """Refuse a manifest whose contract differs from ``inside``, the one written in its artifact."""
    theirs = manifest.contract()
    for key in ADDED_KEYS:  # an artifact exported before the key was written is compared without it
        if key not in inside:
            theirs.pop(key, None)
    if theirs != inside:
        differ = sorted(k for k in set(inside) | set(theirs) if inside.get(k) != theirs.get(k))
        raise ArtifactError(f"{artifact}: its manifest disagrees with the metadata inside it ({', '.join(differ)}); the "
                            "manifest belongs to another export or was edited: re-export it")

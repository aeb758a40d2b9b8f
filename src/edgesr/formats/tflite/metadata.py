"""The I/O contract inside a LiteRT (.tflite) model, in two model metadata entries:

* ``TFLITE_METADATA``: a flatbuffer of TFLite Support's ``metadata_schema.fbs`` (file identifier
  "M001"), what Android Studio's model binding, TFLite Support's codegen and ``MetadataExtractor``
  read: the model's name, description (:func:`edgesr.metadata.summary`), version, author and
  license, and per subgraph (one per signature of a shared-trunk artifact) the input and output
  tensors as images (colour space, size), their normalisation and their value range;
* ``edgesr``: the whole contract as JSON (what :func:`read` returns; readers of the TFLite
  metadata skip entries they do not know).

The metadata flatbuffer is built and read here with the schema's field order (the metadata writers
of ``tflite-support`` cover no image-to-image model, and the package cannot be installed beside
edgesr's stack); the model is rewritten with LiteRT's flatbuffer object API. Reading needs neither:
:func:`read` and :func:`model_metadata` parse the file with the standard library. No PyTorch.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from edgesr._deps import require
from edgesr.errors import ArtifactError
from edgesr.metadata import KEY, LICENSE, dumps, loads, summary

METADATA_NAME = "TFLITE_METADATA"  # the model metadata entry TFLite Support reads
IDENTIFIER = b"M001"  # metadata_schema.fbs: file_identifier
PARSER_VERSION = "1.0.0"  # nothing used here is newer than the schema's first version
COLOUR_SPACE = {"rgb": 1, "y": 2}  # ColorSpaceType: RGB, GRAYSCALE (the Y channel is one grey plane)
_SPACE_NAMES = {0: "UNKNOWN", 1: "RGB", 2: "GRAYSCALE"}
_IMAGE_PROPERTIES = 2  # ContentProperties union: FeatureProperties = 1, ImageProperties = 2
_NORMALIZATION_OPTIONS = 1  # ProcessUnitOptions union: NormalizationOptions = 1


def output_normalisation(n: dict[str, float]) -> dict[str, float]:
    """The NormalizationOptions that turn an output tensor back into pixels.

    Readers apply an output's options after dequantizing it, as ``pixel = (value - mean) / std``:
    Android Studio's model binding builds the output's ImageProcessor as DequantizeOp(zero point,
    scale), NormalizeOp(mean, std), CastOp(UINT8) (AOSP tools/base, mlkit codegen
    ImagePostprocessorInitInjector), and TFLite Support's codegen as DequantizeOp then NormalizeOp
    (tensorflow/tflite-support, codegen/android_java_generator.cc). The contract's normalisation
    goes the other way (``value = (pixel - m) / s``), so the output carries its inverse:
    mean = -m / s, std = 1 / s (for values on [0, 1]: mean 0, std 1/255). Writing the input's
    (0, 255) there instead gives the classic black image."""
    return {"mean": -n["mean"] / n["std"] + 0.0, "std": 1.0 / n["std"]}


# --- writing -------------------------------------------------------------------------------------

def _table(b, fields: list[tuple[int, str, Any]]) -> int:
    """One table from (slot, kind, value): kind "ref" (an offset already built), "u8", "i8", "u32";
    None values are left out (the reader's default)."""
    prepend = {"ref": b.PrependUOffsetTRelativeSlot, "u8": b.PrependUint8Slot, "i8": b.PrependInt8Slot,
               "u32": b.PrependUint32Slot}
    b.StartObject(max(slot for slot, _, _ in fields) + 1)
    for slot, kind, value in fields:
        if value is not None:
            prepend[kind](slot, value, 0)
    return b.EndObject()


def _refs(b, offsets: list[int]) -> int:
    b.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        b.PrependUOffsetTRelative(offset)
    return b.EndVector()


def _floats(b, values: list[float]) -> int:
    b.StartVector(4, len(values), 4)
    for value in reversed(values):
        b.PrependFloat32(float(value))
    return b.EndVector()


def _stats(spec: dict) -> tuple[float, float]:
    """The tensor's own values for pixels 0-255 (integer I/O: the quantized ones), as TFLite
    Support's writers put them in Stats (uint8 images: 0 and 255)."""
    lo, hi = spec["value_range"]
    if spec.get("quantization"):
        scale, zero = spec["quantization"]
        return round(lo / scale) + zero, round(hi / scale) + zero
    return lo, hi


def tensor_description(spec: dict, colour: str, output: bool, scale: int) -> str:
    n = spec["normalisation"]
    shape = f"1x{spec['height']}x{spec['width']}x{spec['channels']}" if spec["layout"] == "NHWC" else \
        f"1x{spec['channels']}x{spec['height']}x{spec['width']}"
    what = f"the x{scale} image" if output else "the image"
    quant = spec.get("quantization")
    stored = f", stored as {spec['dtype']} = round(value / {quant[0]:.6g}) + {quant[1]}" if quant else ""
    if quant and _stats(spec) == (0, 255) and n == {"mean": 0.0, "std": 255.0}:
        stored += " (the pixel itself)"
    text = (f"{what} ({'Y channel' if colour == 'y' else 'RGB'}), {spec['layout']} {spec['dtype']} {shape}: "
            f"value = (pixel - {n['mean']:g}) / {n['std']:g}{stored}")
    if output:
        back = output_normalisation(n)
        text += (f"; pixel = (value - {back['mean']:g}) / {back['std']:g} (this tensor's normalisation, applied "
                 "after dequantizing), clamped to 0-255 and rounded")
    return text


def _tensor(b, spec: dict, colour: str, output: bool, scale: int) -> int:
    n = output_normalisation(spec["normalisation"]) if output else spec["normalisation"]
    lo, hi = _stats(spec)
    name, text = b.CreateString(spec["name"]), b.CreateString(tensor_description(spec, colour, output, scale))
    size = _table(b, [(0, "u32", spec["width"]), (1, "u32", spec["height"])]) if spec["height"] else None
    image = _table(b, [(0, "i8", COLOUR_SPACE[colour]), (1, "ref", size)])
    content = _table(b, [(0, "u8", _IMAGE_PROPERTIES), (1, "ref", image)])
    norm = _table(b, [(0, "ref", _floats(b, [n["mean"]])), (1, "ref", _floats(b, [n["std"]]))])
    unit = _table(b, [(0, "u8", _NORMALIZATION_OPTIONS), (1, "ref", norm)])
    stats = _table(b, [(0, "ref", _floats(b, [hi])), (1, "ref", _floats(b, [lo]))])  # Stats: max, then min
    return _table(b, [(0, "ref", name), (1, "ref", text), (3, "ref", content), (4, "ref", _refs(b, [unit])),
                      (5, "ref", stats)])


def build(data: dict[str, Any], graphs: list[tuple[str, int, dict, dict]]) -> bytes:
    """The ModelMetadata flatbuffer of ``data`` for subgraphs given as (name, scale, input spec,
    output spec), in the model's subgraph order."""
    flatbuffers = require("flatbuffers", "litert", "flatbuffers")
    b = flatbuffers.Builder(4096)
    subgraphs = []
    for name, scale, inp, out in graphs:
        tensors = [_refs(b, [_tensor(b, inp, data["colour"], False, scale)]),
                   _refs(b, [_tensor(b, out, data["colour"], True, scale)])]
        text = b.CreateString(f"upscales {'the Y channel' if data['colour'] == 'y' else 'RGB'} by {scale}")
        subgraphs.append(_table(b, [(0, "ref", b.CreateString(name)), (1, "ref", text), (2, "ref", tensors[0]),
                                    (3, "ref", tensors[1])]))
    strings = [b.CreateString(s) for s in (f"edgesr {data['model']}", summary(data), data["edgesr_version"],
                                             "edgesr", LICENSE, PARSER_VERSION)]
    root = _table(b, [(0, "ref", strings[0]), (1, "ref", strings[1]), (2, "ref", strings[2]),
                      (3, "ref", _refs(b, subgraphs)), (4, "ref", strings[3]), (5, "ref", strings[4]),
                      (7, "ref", strings[5])])
    b.Finish(root, file_identifier=IDENTIFIER)
    return bytes(b.Output())


def _graphs(model, data: dict[str, Any]) -> list[tuple[str, int, dict, dict]]:
    """(name, scale, input spec, output spec) of each subgraph: a shared-trunk artifact's heads by
    their signature, else the contract's own tensors."""
    heads = {h["entry"]: h for h in data["heads"] if h.get("entry")}
    keys = {int(s.subgraphIndex): _text(s.signatureKey) for s in (model.signatureDefs or [])}
    graphs = []
    for index, subgraph in enumerate(model.subgraphs):
        key = keys.get(index) or _text(subgraph.name) or f"subgraph{index}"
        head = heads.get(key)
        if heads and head is None:
            raise ArtifactError(f"subgraph {index} ({key}) of the model is none of the contract's heads "
                                f"({', '.join(heads)}); re-export it")
        if head:
            graphs.append((key, head["scale"], head["input"], head["output"]))
        else:
            graphs.append((key, data["scales"][0], data["input"], data["output"]))
    return graphs


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else (value or "")


def _set_entry(model, schema, name: str, payload: bytes) -> None:
    """Model metadata entry ``name`` holding ``payload`` (its buffer replaced when it exists)."""
    import numpy as np

    data = np.frombuffer(payload, dtype=np.uint8).copy()
    for entry in model.metadata or []:
        if _text(entry.name) == name:
            model.buffers[entry.buffer] = schema.BufferT()
            model.buffers[entry.buffer].data = data
            return
    model.buffers.append(schema.BufferT())
    model.buffers[-1].data = data
    entry = schema.MetadataT()
    entry.name, entry.buffer = name, len(model.buffers) - 1
    model.metadata = [*(model.metadata or []), entry]


def write_model(model, path: Path) -> None:
    """Write a model read with LiteRT's object API. A constant tensor that several signatures share
    (one buffer) gets ONE quantization table when they quantized it alike: the object API writes a
    table per tensor (copies of per-channel scales and int64 zero points), so equal tables are packed
    once and referenced again (a flatbuffer may point at a table twice)."""
    import numpy as np

    schema = require("ai_edge_litert.schema_py_generated", "litert", "ai-edge-litert")
    flatbuffer_utils = require("ai_edge_litert.tools.flatbuffer_utils", "litert", "ai-edge-litert")

    def fingerprint(q) -> tuple:
        arrays = tuple(None if getattr(q, f) is None else np.asarray(getattr(q, f)).tobytes()
                       for f in ("min", "max", "scale", "zeroPoint"))
        return arrays + (q.quantizedDimension, q.detailsType)

    tables: dict[tuple, object] = {}
    for subgraph in model.subgraphs:
        for tensor in subgraph.tensors:
            if tensor.buffer and tensor.quantization is not None:
                key = (int(tensor.buffer), fingerprint(tensor.quantization))
                tensor.quantization = tables.setdefault(key, tensor.quantization)
    original, packed = schema.QuantizationParametersT.Pack, {}

    def pack_once(table, builder):
        if id(table) not in packed:
            packed[id(table)] = original(table, builder)
        return packed[id(table)]

    schema.QuantizationParametersT.Pack = pack_once
    try:
        flatbuffer_utils.write_model(model, str(path))
    finally:
        schema.QuantizationParametersT.Pack = original


def embed(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` into the model at ``path``: the TFLite metadata and the contract JSON."""
    schema = require("ai_edge_litert.schema_py_generated", "litert", "ai-edge-litert")
    flatbuffer_utils = require("ai_edge_litert.tools.flatbuffer_utils", "litert", "ai-edge-litert")
    try:
        model = flatbuffer_utils.read_model(str(path))
    except Exception as exc:
        raise ArtifactError(f"cannot read {path} as a LiteRT model ({type(exc).__name__}); re-export it") from exc
    _set_entry(model, schema, METADATA_NAME, build(data, _graphs(model, data)))
    _set_entry(model, schema, KEY, dumps(data).encode())
    write_model(model, path)


# --- reading (standard library only) ----------------------------------------------------------------

class _Table:
    """A flatbuffer table at ``pos`` of ``buf``; fields by their index in the schema."""

    def __init__(self, buf: bytes, pos: int):
        self.buf, self.pos = buf, pos

    def _u32(self, at: int) -> int:
        return struct.unpack_from("<I", self.buf, at)[0]

    def _slot(self, index: int) -> int:
        vtable = self.pos - struct.unpack_from("<i", self.buf, self.pos)[0]
        size, at = struct.unpack_from("<H", self.buf, vtable)[0], 4 + 2 * index
        return struct.unpack_from("<H", self.buf, vtable + at)[0] if at < size else 0

    def scalar(self, index: int, fmt: str, default=0):
        slot = self._slot(index)
        return struct.unpack_from(fmt, self.buf, self.pos + slot)[0] if slot else default

    def _target(self, index: int) -> int | None:
        slot = self._slot(index)
        return self.pos + slot + self._u32(self.pos + slot) if slot else None

    def table(self, index: int) -> _Table | None:
        at = self._target(index)
        return None if at is None else _Table(self.buf, at)

    def string(self, index: int) -> str | None:
        data = self.bytes(index)
        return None if data is None else data.decode()

    def bytes(self, index: int) -> bytes | None:
        at = self._target(index)
        return None if at is None else bytes(self.buf[at + 4:at + 4 + self._u32(at)])

    def tables(self, index: int) -> list[_Table]:
        at = self._target(index)
        if at is None:
            return []
        return [_Table(self.buf, at + 4 + 4 * k + self._u32(at + 4 + 4 * k)) for k in range(self._u32(at))]

    def floats(self, index: int) -> list[float]:
        at = self._target(index)
        return [] if at is None else list(struct.unpack_from(f"<{self._u32(at)}f", self.buf, at + 4))


def _entries(path: Path) -> dict[str, bytes]:
    """The model metadata entries of the LiteRT file at ``path``, by name."""
    try:
        buf = path.read_bytes()
        model = _Table(buf, struct.unpack_from("<I", buf, 0)[0])
        if buf[4:8] != b"TFL3":
            raise ValueError("no TFL3 identifier")
        buffers, entries = model.tables(4), {}  # Model: buffers = 4, metadata = 6
        for entry in model.tables(6):  # Metadata: name = 0, buffer = 1
            data = buffers[entry.scalar(1, "<I")]  # Buffer: data = 0, offset = 1, size = 2
            payload, offset = data.bytes(0), data.scalar(1, "<Q")
            if not payload and offset > 1:  # stored after the flatbuffer (models over 2 GB)
                payload = buf[offset:offset + data.scalar(2, "<Q")]
            entries[entry.string(0)] = payload or b""
    except (OSError, ValueError, IndexError, struct.error, UnicodeDecodeError) as exc:
        raise ArtifactError(f"cannot read {path} as a LiteRT model ({type(exc).__name__}: {exc}); "
                            "re-export it") from exc
    return entries


def read(path: Path) -> dict[str, Any]:
    """The contract from the model's ``edgesr`` metadata entry."""
    entries = _entries(Path(path))
    if KEY not in entries:
        raise ArtifactError(f"{path}: no edgesr metadata inside (exported before edgesr wrote it); re-export it")
    return loads(entries[KEY], str(path))


def _read_tensor(t: _Table) -> dict[str, Any]:
    content = t.table(3)  # TensorMetadata: name, description, dimension_names, content, process_units, stats
    image = content.table(1) if content is not None and content.scalar(0, "<B") == _IMAGE_PROPERTIES else None
    size = image.table(1) if image is not None else None
    units = [u.table(1) for u in t.tables(4) if u.scalar(0, "<B") == _NORMALIZATION_OPTIONS]
    stats = t.table(5)
    return {
        "name": t.string(0), "description": t.string(1),
        "color_space": _SPACE_NAMES.get(image.scalar(0, "<b")) if image is not None else None,
        "default_size": (size.scalar(0, "<I"), size.scalar(1, "<I")) if size is not None else None,  # (w, h)
        "mean": units[0].floats(0) if units else None, "std": units[0].floats(1) if units else None,
        "min": stats.floats(1) if stats else None, "max": stats.floats(0) if stats else None,
    }


def model_metadata(path: str | Path) -> dict[str, Any] | None:
    """The TFLite metadata (``TFLITE_METADATA``) of a model as a dict, or None if it has none."""
    payload = _entries(Path(path)).get(METADATA_NAME)
    if payload is None:
        return None
    if payload[4:8] != IDENTIFIER:
        raise ArtifactError(f"{path}: its {METADATA_NAME} is not a TFLite metadata flatbuffer; re-export it")
    return parse(payload)


def parse(payload: bytes) -> dict[str, Any]:
    """A ModelMetadata flatbuffer's fields that edgesr writes, as a dict."""
    root = _Table(payload, struct.unpack_from("<I", payload, 0)[0])
    fields = ("name", "description", "version", None, "author", "license", None, "min_parser_version")
    meta: dict[str, Any] = {f: root.string(i) for i, f in enumerate(fields) if f}
    meta["subgraphs"] = [{"name": g.string(0), "description": g.string(1),
                          "inputs": [_read_tensor(t) for t in g.tables(2)],
                          "outputs": [_read_tensor(t) for t in g.tables(3)]} for g in root.tables(3)]
    return meta

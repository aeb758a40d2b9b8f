"""Just enough of the protobuf wire format to read string maps out of a serialized message (an ONNX
model's ``metadata_props``, a Core ML spec's ``userDefined`` metadata) without importing the
package that owns the schema (onnx, coremltools: seconds, and torch with coremltools)."""

from __future__ import annotations

from typing import Iterator


class WireError(ValueError):
    """The bytes are not a protobuf message."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise WireError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def fields(buf: bytes) -> Iterator[tuple[int, bytes | int]]:
    """(field number, value) of each field of a message: bytes for length-delimited fields, the
    integer for varints; fixed-width fields are skipped."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, value
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise WireError("truncated field")
            yield number, buf[pos:pos + size]
            pos += size
        elif wire in (1, 5):
            pos += 8 if wire == 1 else 4
        else:
            raise WireError(f"unsupported wire type {wire}")


def message(buf: bytes, *path: int) -> bytes:
    """The (last) sub-message at ``path`` of field numbers; b"" when absent."""
    for number in path:
        found = b""
        for n, value in fields(buf):
            if n == number and isinstance(value, bytes):
                found = value
        buf = found
    return buf


def string_map(buf: bytes, number: int) -> dict[str, str]:
    """A repeated {1: key, 2: value} entry field (a protobuf map<string, string>, or ONNX's
    StringStringEntryProto list) of ``buf``."""
    out = {}
    for n, entry in fields(buf):
        if n == number and isinstance(entry, bytes):
            kv = {k: v for k, v in fields(entry) if isinstance(v, bytes)}
            out[kv.get(1, b"").decode("utf-8", "replace")] = kv.get(2, b"").decode("utf-8", "replace")
    return out

"""Reading and writing images with one defined behaviour per image kind.

``read_image`` returns ``HxW`` uint8 for grayscale and ``HxWx3`` uint8 for colour images:

=====================  =====================================================================
image kind             behaviour
=====================  =====================================================================
RGB, L (8 bit)         read as they are (PNG, JPEG, BMP, and anything else Pillow decodes)
1-bit (mode ``1``)     grayscale, 0 and 255
palette (``P``)        expanded to RGB through the palette (lossless)
RGBA, LA, PA           alpha dropped when every pixel is opaque; any transparency is an error
EXIF orientation       applied, so the array is the image as a viewer shows it
16-bit, 32-bit, float  error: convert to 8 bit first (SR models and metrics work on 8 bit)
CMYK, YCbCr, LAB, ...  CMYK and LAB are errors (convert to RGB with colour management);
                       JPEG's YCbCr is decoded to RGB by Pillow as usual
ICC profiles           ignored: pixel values are used as stored
=====================  =====================================================================
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from edgesr._files import atomic_path
from edgesr.errors import ImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
# the formats write_image writes, by suffix
WRITERS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}

_WIDE_MODES = {"I", "F", "I;16", "I;16B", "I;16L", "I;16N", "RGB;16", "RGBA;16"}


def _png_bit_depth(path: Path) -> int | None:
    with open(path, "rb") as f:
        head = f.read(25)
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return head[24]
    return None


def _drop_opaque_alpha(img: Image.Image, path: Path) -> Image.Image:
    alpha = np.asarray(img.getchannel("A"))
    if alpha.min() < 255:
        raise ImageError(
            f"{path}: the image has transparent pixels (mode {img.mode}); flatten it onto a "
            "background first, edgesr does not guess one"
        )
    return img.convert("L" if img.mode == "LA" else "RGB")


def _why(exc: BaseException, path) -> str:
    """Pillow's reason without the file name it repeats (the message names the file once, first)."""
    text = str(exc)
    for name in (f" '{path}'", f" {path}", f"'{path}'"):
        text = text.replace(name, "")
    return text.strip() or type(exc).__name__


def _opened(path: Path) -> Image.Image:
    try:
        return Image.open(path)
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path}: {exc.args[0].split('.')[0]}; edgesr reads at most {Image.MAX_IMAGE_PIXELS * 2 / 1e6:.0f} MP "
                         "(Pillow's decompression-bomb limit): split or downscale the image first") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path}: cannot read the image ({_why(exc, path)}); is the file complete and an image?") from exc


def _check_kind(img: Image.Image, path: Path) -> None:
    """Refuse the image kinds of the module table from the header alone (no pixels decoded)."""
    mode = img.mode
    bits = img.tag_v2.get(258) if hasattr(img, "tag_v2") else None  # TIFF BitsPerSample
    depth = max(bits if isinstance(bits, tuple) else (bits,)) if bits else (
        _png_bit_depth(path) if img.format == "PNG" else None)
    if mode in _WIDE_MODES or (depth or 0) > 8:
        kind = f"{depth}-bit" if depth else mode
        raise ImageError(f"{path}: {kind} images (more than 8 bits per channel) are not supported; "
                         "convert to 8 bit first")
    if mode in ("CMYK", "LAB", "HSV"):
        raise ImageError(f"{path}: {mode} images are not supported; convert to RGB with a colour-managed tool first")


def check_images(paths) -> None:
    """Refuse, before any work, every file of ``paths`` that :func:`read_image` would refuse by its
    kind or could not open, naming them all (pixels are not decoded: fast)."""
    bad = []
    for path in paths:
        try:
            with _opened(Path(path)) as img:
                _check_kind(img, Path(path))
        except ImageError as exc:
            bad.append(str(exc))
    if bad:
        more = f" (and {len(bad) - 1} more: {'; '.join(bad[1:4])}{' ...' if len(bad) > 4 else ''})" if len(bad) > 1 else ""
        raise ImageError(bad[0] + more)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image as ``HxW`` (grayscale) or ``HxWx3`` (colour) uint8; see the module table."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such image file")
    with _opened(path) as img:
        _check_kind(img, path)
        try:
            img.load()
            img = ImageOps.exif_transpose(img)
        except (OSError, SyntaxError, ValueError) as exc:
            raise ImageError(f"{path}: cannot read the image ({_why(exc, path)}); is the file complete and an image?") from exc
    mode = img.mode
    if mode == "1":
        img = img.convert("L")
    elif mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    elif mode == "PA":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA"):
        img = _drop_opaque_alpha(img, path)
    if img.mode == "YCbCr":
        img = img.convert("RGB")
    if img.mode not in ("L", "RGB"):
        raise ImageError(f"{path}: unsupported image mode {img.mode}; convert to 8-bit RGB or grayscale first")
    return np.array(img, dtype=np.uint8)


def write_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write a uint8 ``HxW`` or ``HxWx3`` image atomically (no partial file on failure), in the
    format its suffix names (:data:`WRITERS`). PNG is encoded here, a band of rows at a time, so a
    large output needs no second copy of itself in memory."""
    path = Path(path)
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ImageError(f"{path}: can only write uint8 HxW or HxWx3 images, got {image.dtype} {image.shape}")
    fmt = WRITERS.get(path.suffix.lower())
    if fmt is None:
        raise ImageError(f"{path}: cannot write {path.suffix or 'files without a suffix'}; "
                         f"name the output {', '.join(sorted(set(WRITERS)))}")
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        if fmt == "PNG":
            _write_png(f, image)
        else:
            Image.fromarray(image).save(f, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return path


def _chunk(f, kind: bytes, data: bytes) -> None:
    f.write(struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data)))


def _write_png(f, image: np.ndarray, band: int = 32) -> None:
    """8-bit grayscale or RGB PNG; each row gets the filter with the smallest sum of absolute
    differences (the usual heuristic), as encoders such as libpng choose."""
    h, w = image.shape[:2]
    bpp = 1 if image.ndim == 2 else 3
    f.write(b"\x89PNG\r\n\x1a\n")
    _chunk(f, b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0 if bpp == 1 else 2, 0, 0, 0))
    rows = image.reshape(h, w * bpp)
    comp, pending = zlib.compressobj(6), []
    for r0 in range(0, h, band):
        block = rows[r0:r0 + band].astype(np.int16)
        up = np.concatenate([rows[r0 - 1:r0].astype(np.int16) if r0 else np.zeros((1, w * bpp), np.int16),
                             block[:-1]])
        left = np.zeros_like(block)
        left[:, bpp:] = block[:, :-bpp]
        upleft = np.zeros_like(block)
        upleft[:, bpp:] = up[:, :-bpp]
        p = left + up - upleft
        pa, pb, pc = np.abs(p - left), np.abs(p - up), np.abs(p - upleft)
        paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
        candidates = np.stack([block, block - left, block - up, block - (left + up) // 2, block - paeth])
        candidates = (candidates & 0xFF).astype(np.uint8)
        cost = np.abs(candidates.view(np.int8).astype(np.int32)).sum(axis=2)  # filters x rows
        choice = cost.argmin(axis=0)
        out = np.empty((len(block), 1 + w * bpp), np.uint8)
        out[:, 0] = choice
        out[:, 1:] = candidates[choice, np.arange(len(block))]
        pending.append(comp.compress(out.tobytes()))
        if sum(map(len, pending)) >= 1 << 20:
            _chunk(f, b"IDAT", b"".join(pending))
            pending = []
    pending.append(comp.flush())
    _chunk(f, b"IDAT", b"".join(pending))
    _chunk(f, b"IEND", b"")


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The image files directly in ``folder``, sorted by name."""
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)

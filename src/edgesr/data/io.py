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
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from edgesr.errors import ImageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")

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


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image as ``HxW`` (grayscale) or ``HxWx3`` (colour) uint8; see the module table."""
    path = Path(path)
    if not path.is_file():
        raise ImageError(f"{path}: no such image file")
    if _png_bit_depth(path) == 16:
        raise ImageError(f"{path}: 16-bit PNG is not supported; convert it to 8 bit per channel first")
    try:
        with Image.open(path) as img:
            img.load()
            img = ImageOps.exif_transpose(img)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path}: cannot read the image ({exc}); is the file complete and an image?") from exc
    mode = img.mode
    if mode in _WIDE_MODES:
        raise ImageError(f"{path}: {mode} images (more than 8 bits per channel) are not supported; convert to 8 bit first")
    if mode in ("CMYK", "LAB", "HSV"):
        raise ImageError(f"{path}: {mode} images are not supported; convert to RGB with a colour-managed tool first")
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
    """Write a uint8 ``HxW`` or ``HxWx3`` image atomically (no partial file on failure).

    The format follows the suffix; PNG unless the suffix says otherwise.
    """
    path = Path(path)
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ImageError(f"{path}: can only write uint8 HxW or HxWx3 images, got {image.dtype} {image.shape}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = {".jpg": "JPEG", ".jpeg": "JPEG", ".bmp": "BMP", ".tif": "TIFF", ".tiff": "TIFF"}.get(
        path.suffix.lower(), "PNG"
    )
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            Image.fromarray(image).save(f, format=fmt, **({"quality": 95} if fmt == "JPEG" else {}))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def list_images(folder: str | os.PathLike) -> list[Path]:
    """The image files directly in ``folder``, sorted by name."""
    folder = Path(folder)
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)

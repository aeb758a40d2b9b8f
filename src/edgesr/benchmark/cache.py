"""``edgesr bench``'s export cache: an artifact is exported once and reused while everything that
decides what it holds is the same: the model and its weights (sha256), the format, precision,
scales, input shape and calibration, edgesr's export code and the installed converter versions."""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import re
from pathlib import Path

import edgesr
from edgesr.benchmark.options import BenchOptions
from edgesr.errors import EdgesrError
from edgesr.formats import FORMATS
from edgesr.manifest import read_manifest, sha256

# the parts of edgesr whose code decides what an exported artifact holds (train: the QAT simulation
# computes the INT8 ranges; formats: the converters and their options)
EXPORT_CODE = ("conversion", "formats", "models", "data", "train")


def code_digest(root: Path, parts: tuple[str, ...]) -> str:
    """sha256 over the Python sources under ``root/part`` (a folder, or one file), names and
    contents, in a fixed order."""
    h = hashlib.sha256()
    for part in parts:
        where = root / part
        for path in [where] if where.is_file() else sorted(where.rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "-"


@functools.lru_cache(maxsize=None)
def _export_code() -> str:
    return code_digest(Path(edgesr.__file__).parent, EXPORT_CODE)[:16]


@functools.lru_cache(maxsize=None)
def toolchain(fmt: str) -> dict[str, str]:
    """What an artifact depends on besides the bench options: edgesr's export code and the installed
    versions of torch and of the format's converter packages (its pip extra). A change in any of
    them exports afresh instead of reusing an artifact the current code would not write."""
    packages = {"torch", FORMATS[fmt].converter_package.replace("_", "-")}
    try:
        requires = importlib.metadata.requires("edgesr") or []
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        requires = []
    for req in requires:
        name, _, marker = req.partition(";")
        if f'extra == "{FORMATS[fmt].extra}"' in marker.replace("'", '"'):
            packages.add(re.match(r"[A-Za-z0-9._-]+", name.strip()).group())
    return {"code": _export_code(), **{name: _dist_version(name) for name in sorted(packages)}}


def cache_key(opts: BenchOptions, fmt: str, precision: str, scales: tuple[int, ...], quant: str = "") -> str:
    from edgesr.models.weights import shipped_weights

    weights = opts.weights or shipped_weights(opts.model, scales[0])
    if not opts.weights and quant:  # the weights the export will choose (QAT ones, where they apply)
        from edgesr.conversion.api import choose_weights

        weights = choose_weights(opts.model, scales[0], fmt, precision, None, quant)[0] or weights
    fixed = None if FORMATS[fmt].dynamic else list(opts.input_size)
    text = json.dumps({"model": opts.model, "weights": sha256(weights) if weights else None, "format": fmt,
                       "precision": precision, "scales": list(scales), "input": fixed,
                       "calib": opts.calib_images, "toolchain": toolchain(fmt), "quant": quant}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def export_cached(opts: BenchOptions, fmt: str, precision: str, scales: tuple[int, ...], quant: str = "") -> Path:
    """The artifact for these options, exported once and reused while weights and options match."""
    from edgesr.conversion.api import export_model

    folder = opts.cache / cache_key(opts, fmt, precision, scales, quant)
    for candidate in folder.glob(f"*{FORMATS[fmt].suffix}") if folder.is_dir() else ():
        try:
            read_manifest(candidate)
            return candidate
        except EdgesrError:
            pass
    lr_size = None if FORMATS[fmt].dynamic else opts.input_size
    return export_model(opts.model, scales if len(scales) > 1 else scales[0], fmt, folder, precision=precision,
                        weights=opts.weights, lr_size=lr_size, calib_images=opts.calib_images,
                        data_root=opts.data_root, check=False, quant=quant or "auto")

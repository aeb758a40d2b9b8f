"""Writing outputs safely: every file or folder edgesr writes appears whole or not at all.

Each writer works on a temporary name beside the target (same file system, so the final rename is
atomic) and renames it over the target only when the block succeeds; a failure or a kill leaves the
target as it was and removes the temporary. Outputs get the permissions the user's umask gives a
new file (``tempfile`` alone would leave them readable by their owner only).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _usable_parent(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary file path beside ``path``; it becomes ``path`` only if the block succeeds."""
    path = Path(path)
    _usable_parent(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a path beside ``path`` for a folder; it replaces ``path`` only if the block succeeds."""
    path = Path(path)
    _usable_parent(path)
    holder = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
    tmp = holder / path.name
    try:
        yield tmp
        if tmp.is_dir():
            os.chmod(tmp, 0o777 & ~_umask())
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(holder, ignore_errors=True)


def check_writable(folder: str | os.PathLike, what: str | None = None) -> Path:
    """Create and remove a file in ``folder``: a folder that cannot take the outputs is refused before
    any work, not after. The folders made for the probe are removed again (the writers make them when
    they write), so a command refused later leaves nothing. ``what`` (an option) is named in the message."""
    from edgesr.errors import DataError

    folder = Path(folder)
    made = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".edgesr-write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        named = f" ({what})" if what else ""
        raise DataError(f"cannot write to {folder}{named}: {exc.strerror or exc}; choose a folder you can write to") from None
    finally:
        for path in made:  # deepest first
            with contextlib.suppress(OSError):
                path.rmdir()
    return folder


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_bytes(path, text.encode("utf-8"))

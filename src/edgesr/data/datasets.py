"""Benchmark and training sets, found by name under one data root.

The data root is ``--data-root`` on the command line or the ``EDGESR_DATA`` environment variable.
Under it, a set is a folder named after it holding its images directly or in ``HR/``
(``Set5/HR/baby.png``), or DIV2K's and Flickr2K's own layouts (``DIV2K/DIV2K_valid_HR/0801.png``,
``DIV2K/DIV2K_train_HR/0001.png``, ``Flickr2K/Flickr2K_HR/000001.png``, or those folders directly
under the root). ``291`` is T91 + BSD200, ``DF2K`` is DIV2K's training images + Flickr2K. Any folder
of images can be given by its path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from edgesr.data.io import list_images
from edgesr.errors import DataError

DATA_ENV = "EDGESR_DATA"

# key (lower case) -> (display name, folders to look for under the data root, first match wins)
_SETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "set5": ("Set5", ("Set5",)),
    "set14": ("Set14", ("Set14",)),
    "bsd100": ("BSD100", ("BSD100", "B100")),
    "urban100": ("Urban100", ("Urban100",)),
    "manga109": ("Manga109", ("Manga109",)),
    "t91": ("T91", ("T91",)),
    "bsd200": ("BSD200", ("BSD200",)),
    "div2k": ("DIV2K", ("DIV2K/DIV2K_valid_HR", "DIV2K_valid_HR")),
    "div2k_train": ("DIV2K_train", ("DIV2K/DIV2K_train_HR", "DIV2K_train_HR")),
    "flickr2k": ("Flickr2K", ("Flickr2K/Flickr2K_HR", "Flickr2K_HR", "Flickr2K")),
}
_ALIASES = {"b100": "bsd100", "div2k_valid": "div2k", "div2k-valid": "div2k", "div2k-train": "div2k_train"}
# sets made of other sets
_UNIONS = {"291": ("291", ("t91", "bsd200")), "df2k": ("DF2K", ("div2k_train", "flickr2k"))}

BENCHMARKS = ("Set5", "Set14", "BSD100", "Urban100")


@dataclass(frozen=True)
class ImageSet:
    """A named, ordered list of HR image files."""

    name: str
    files: tuple[Path, ...]

    def __len__(self) -> int:
        return len(self.files)


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root`` if given, else ``$EDGESR_DATA``; it must exist."""
    if root is None:
        root = os.environ.get(DATA_ENV)
        if not root:
            raise DataError(
                f"no data root: pass --data-root DIR or set {DATA_ENV} to the folder that holds Set5, Set14, ..."
            )
    path = Path(root).expanduser()
    if not path.is_dir():
        raise DataError(f"data root {path} is not a folder; point --data-root or {DATA_ENV} at the datasets folder")
    return path


def known_sets() -> list[str]:
    return [display for display, _ in (*_SETS.values(), *_UNIONS.values())]


def _images_in(folder: Path) -> list[Path]:
    hr = folder / "HR"
    return list_images(hr if hr.is_dir() else folder)


def _find_named(key: str, root: Path) -> list[Path]:
    display, folders = _SETS[key]
    for rel in folders:
        folder = root / rel
        if folder.is_dir():
            files = _images_in(folder)
            if not files:
                raise DataError(f"{folder} holds no images (png, jpg, bmp, ...)")
            return files
    raise DataError(
        f"dataset {display} not found under {root} (looked for {', '.join(folders)}); "
        "check --data-root or EDGESR_DATA"
    )


def find_images(name: str, root: str | os.PathLike | None = None) -> ImageSet:
    """The images of set ``name`` (case-insensitive, ``B100`` = ``BSD100``, ``291`` = T91 + BSD200)
    under the data root, or of the folder ``name`` when it is a path to one."""
    as_path = Path(name).expanduser()
    if as_path.is_dir():
        files = _images_in(as_path)
        if not files:
            raise DataError(f"{as_path} holds no images (png, jpg, bmp, ...)")
        return ImageSet(as_path.name, tuple(files))
    key = _ALIASES.get(name.lower(), name.lower())
    if key not in _SETS and key not in _UNIONS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(known_sets())}, or a path to a folder of images")
    base = data_root(root)
    canonical, parts = _UNIONS.get(key, (_SETS.get(key, ("",))[0], (key,)))
    files = [f for part in parts for f in _find_named(part, base)]
    return ImageSet(canonical, tuple(files))

"""Every option of one export, built and checked once: :class:`ExportOptions`.

The CLI (``edgesr export``) and the Python API (``edgesr.export``) each build one with
:meth:`ExportOptions.build` and hand it to :func:`edgesr.conversion.api.run_export`; nothing below them
checks an option again. Building one imports neither PyTorch nor a converter, so a wrong format,
precision, size, profile or I/O mode is refused at once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Sequence

from edgesr._values import is_whole
from edgesr.data.calibration import DEFAULT_CALIBRATION_SET
from edgesr.errors import ExportError
from edgesr.formats import CALIBRATED, FORMATS, QUANT_METHODS, check_precision, get_format

Size = tuple[int, int]


@dataclass(frozen=True)
class ExportOptions:
    """One export's options. ``scales`` is always a tuple: one scale, or several of a multi-scale
    model in one shared-trunk artifact. ``input_sizes`` are LR (H, W) sizes: () for a dynamic size
    where the format takes one (the format's default fixed size where it does not), several for a
    format that enumerates sizes (Core ML). ``profile``: TensorRT's (min, opt, max) LR sizes."""

    format: str
    scales: tuple[int, ...]
    precision: str
    weights: str | None = None
    input_sizes: tuple[Size, ...] = ()
    profile: tuple[Size, Size, Size] | None = None
    calib_data: str = DEFAULT_CALIBRATION_SET
    calib_images: int = 64
    check: bool = True
    check_set: str = "Set5"
    data_root: str | None = None
    quant: str = "auto"
    pure_int8: bool = False
    io: str | None = None  # None: the format's default
    targets: tuple[str, ...] = ()  # GPU architectures to build for (tensorrt-rtx); (): the builder's default
    verbose: bool = False

    @classmethod
    def build(cls, scale: int | Sequence[int], format: str, *, precision: str | None = None,  # noqa: A002
              weights: str | os.PathLike | None = None, input_size: Size | Sequence[Size] | None = None,
              profile: Sequence[Size] | None = None, data_root: str | os.PathLike | None = None,
              **options: Any) -> "ExportOptions":
        """Options from the loose forms callers have: one scale or several, one size or several,
        paths as ``Path`` or ``str``, the precision left out for the format's default."""
        fmt = get_format(format)
        if isinstance(options.get("targets"), list):
            options["targets"] = tuple(options["targets"])
        return cls(format, _scales(scale), precision if precision is not None else fmt.precisions[0],
                   weights=os.fspath(weights) if weights is not None else None, input_sizes=_sizes(input_size),
                   profile=tuple(_size(s, "profile") for s in profile) if profile is not None else None,
                   data_root=os.fspath(data_root) if data_root is not None else None, **options)

    def __post_init__(self) -> None:
        fmt = get_format(self.format)
        check_precision(fmt, self.precision)
        if not self.scales or not all(is_whole(s) and s > 0 for s in self.scales):
            raise ExportError(f"scales must be whole numbers such as (4,) or (2, 3, 4), got {self.scales!r}")
        for size in (*self.input_sizes, *(self.profile or ())):
            _size(size, "input_size")
        if len(self.input_sizes) > 1 and not fmt.enumerated:
            raise ExportError(f"{fmt.name} takes one input size, not {len(self.input_sizes)}; only "
                              f"{' and '.join(f.name for f in FORMATS.values() if f.enumerated)} enumerates several")
        if self.profile is not None:
            if not fmt.profiles:
                raise ExportError(f"an optimization profile is for "
                                  f"{' and '.join(f.name for f in FORMATS.values() if f.profiles)} exports only")
            if len(self.profile) != 3:
                raise ExportError(f"a profile is three sizes (min, opt, max), got {len(self.profile)}")
        if not isinstance(self.targets, tuple) or not all(isinstance(t, str) for t in self.targets):
            raise ExportError(f"targets must name GPU architectures such as ('sm86', 'sm89'), got {self.targets!r}")
        if self.targets:
            if not fmt.targets:
                raise ExportError(f"--targets is for {' and '.join(f.name for f in FORMATS.values() if f.targets)} "
                                  "exports only")
            unknown = [t for t in self.targets if t not in fmt.targets]
            if unknown:
                raise ExportError(f"{fmt.name} builds for {', '.join(fmt.targets)}, not {', '.join(map(repr, unknown))}")
        if not is_whole(self.calib_images) or self.calib_images < 1:
            raise ExportError(f"calib_images must be a whole number >= 1, got {self.calib_images!r}")
        if self.quant not in QUANT_METHODS:
            raise ExportError(f"unknown quantization method {self.quant!r}; known: {', '.join(QUANT_METHODS)}")
        if self.quant == "qat" and self.precision not in CALIBRATED:
            raise ExportError(f"--quant qat is for quantized precisions ({', '.join(CALIBRATED)}), not {self.precision}")
        if self.pure_int8 and self.precision != fmt.int8_activations:
            raise ExportError(f"--pure-int8 is for {fmt.name}'s int8 activations (-p {fmt.int8_activations or 'int8'}), "
                              f"not -p {self.precision}")
        if self.io is not None:
            if self.io not in fmt.io:
                takes = [f.name for f in FORMATS.values() if self.io in f.io]
                raise ExportError(f"{fmt.name} artifacts take --io {' or '.join(fmt.io)}, not {self.io!r}"
                                  + (f"; --io {self.io} is for {' and '.join(takes)}" if takes else ""))
            fmt.check_io(self.io, self.precision)  # what the precision allows
        for name in ("check", "pure_int8", "verbose"):
            if not isinstance(getattr(self, name), bool):
                raise ExportError(f"{name} must be True or False, got {getattr(self, name)!r}")
        for name in ("calib_data", "check_set"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ExportError(f"{name} must name a set or a folder, got {getattr(self, name)!r}")

    @property
    def shared(self) -> bool:
        return len(self.scales) > 1

    @property
    def io_mode(self) -> str:
        return self.io or get_format(self.format).io[0]


def _scales(scale: int | Sequence[int]) -> tuple[int, ...]:
    if is_whole(scale):
        return (int(scale),)
    if isinstance(scale, (str, bytes)) or not isinstance(scale, Sequence) or not all(is_whole(s) for s in scale):
        raise ExportError(f"scale must be a whole number such as 4, or several such as (2, 3, 4), got {scale!r}")
    return tuple(dict.fromkeys(int(s) for s in scale))


def _size(size: Any, what: str) -> Size:
    if (not isinstance(size, Sequence) or isinstance(size, (str, bytes)) or len(size) != 2
            or not all(is_whole(v) and v > 0 for v in size)):
        raise ExportError(f"{what} takes (height, width) in pixels, whole numbers above 0, got {size!r}")
    return int(size[0]), int(size[1])


def _sizes(input_size: Any) -> tuple[Size, ...]:
    """None or () (dynamic), one (H, W), or several."""
    if not input_size:
        return ()
    if isinstance(input_size, Sequence) and input_size and is_whole(input_size[0]):
        return (_size(input_size, "input_size"),)
    if not isinstance(input_size, Sequence) or isinstance(input_size, (str, bytes)):
        raise ExportError(f"input_size takes (height, width) or a list of them, got {input_size!r}")
    return tuple(_size(s, "input_size") for s in input_size)

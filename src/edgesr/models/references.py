"""Models defined outside edgesr: a factory named by ``package.module:factory``, by
``path/to/file.py:factory`` or by an entry point of the ``edgesr.models`` group, and what it declares.

A factory declares what the pipeline around its network needs in an ``edgesr_spec`` mapping on
itself: ``@edgesr.models.sr_model(colour=..., upsampling=..., scales=...)`` writes it, and a package
that does not import edgesr can set the same mapping by hand. Declaring registers nothing: the
reference that names the factory is all a command needs. Nothing here imports PyTorch; the user's
file or module is imported when it is first named (once per file: later lookups reuse it).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import re
import sys
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from edgesr.errors import ModelError

DECLARATION = "edgesr_spec"  # the attribute of a factory that holds its declaration
ENTRY_POINTS = "edgesr.models"  # the entry-point group other packages register models in
COLOURS = ("y", "rgb")
UPSAMPLING = ("pre", "post")
REQUIRED = ("colour", "upsampling", "scales")
OPTIONAL = {"multi_scale": False, "description": "", "int16_modules": ()}
EXAMPLE = "@edgesr.models.sr_model(colour='y', upsampling='post', scales=(2, 3, 4))"

_FILES: dict[Path, Any] = {}  # imported files by resolved path


def sr_model(*, colour: str, upsampling: str, scales, multi_scale: bool = False, description: str = "",
             int16_modules=()) -> Callable:
    """Decorator: declare what a factory's network needs (its colour, ``"pre"`` or ``"post"``
    upsampling, the scales it serves, whether one network serves them all) without registering it.

    The factory is called ``factory(channels=1 or 3, [scale=s,] **options)``: per-scale networks
    (post-upsampling, not multi-scale) get the one scale they are built for; multi-scale networks
    serve every scale through ``forward(x, scale)``.
    """
    declared = check_declaration({"colour": colour, "upsampling": upsampling, "scales": scales,
                                  "multi_scale": multi_scale, "description": description,
                                  "int16_modules": int16_modules}, "sr_model")

    def declare(factory: Callable) -> Callable:
        setattr(factory, DECLARATION, dict(declared))
        return factory

    return declare


def check_declaration(values: dict, where: str) -> dict:
    """The declaration with its defaults filled in and its values checked (a one-line ModelError)."""
    if not isinstance(values, dict):
        raise ModelError(f"{where}: {DECLARATION} must be a mapping such as {{'colour': 'y', 'upsampling': 'post', "
                         f"'scales': (2, 3, 4)}}, got {type(values).__name__}")
    missing = [key for key in REQUIRED if values.get(key) is None]
    if missing:
        raise ModelError(f"{where} does not declare {', '.join(missing)}; decorate it with {EXAMPLE} "
                         f"(or set its {DECLARATION} mapping)")
    unknown = sorted(set(values) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise ModelError(f"{where} declares unknown key(s) {', '.join(unknown)}; known: "
                         f"{', '.join([*REQUIRED, *OPTIONAL])}")
    out = {**OPTIONAL, **values}
    scales = out["scales"]
    scales = (scales,) if isinstance(scales, int) else scales
    problems = [
        (out["colour"] in COLOURS, f"colour must be one of {', '.join(COLOURS)}, got {out['colour']!r}"),
        (out["upsampling"] in UPSAMPLING, f"upsampling must be pre or post, got {out['upsampling']!r}"),
        (isinstance(scales, (tuple, list)) and len(scales) > 0
         and all(isinstance(s, int) and not isinstance(s, bool) and s >= 2 for s in scales),
         f"scales must be integers >= 2, such as (2, 3, 4), got {out['scales']!r}"),
        (isinstance(out["multi_scale"], bool), f"multi_scale must be True or False, got {out['multi_scale']!r}"),
    ]
    for ok, message in problems:
        if not ok:
            raise ModelError(f"{where}: {message}")
    out["scales"] = tuple(scales)
    out["int16_modules"] = tuple(out["int16_modules"])
    out["description"] = str(out["description"])
    return out


def declaration(factory: Callable, where: str) -> dict:
    """The checked declaration of ``factory`` (named ``where`` in errors); its description defaults
    to the first line of its docstring."""
    values = getattr(factory, DECLARATION, None)
    if values is None:
        raise ModelError(f"{where} does not declare {', '.join(REQUIRED)}; decorate it with {EXAMPLE} "
                         f"(or set its {DECLARATION} mapping)")
    out = check_declaration(dict(values) if isinstance(values, dict) else values, where)
    if not out["description"]:
        out["description"] = ((getattr(factory, "__doc__", None) or "").strip().splitlines() or [""])[0]
    return out


def is_reference(name: str) -> bool:
    return ":" in name


def split_reference(ref: str) -> tuple[str, str]:
    """``(module or file, attribute)``; the attribute follows the last colon (``C:/x.py:f`` works)."""
    target, _, attribute = ref.rpartition(":")
    if not target or not attribute:
        raise ModelError(f"bad model reference {ref!r}: write package.module:factory or path/to/file.py:factory")
    return target, attribute


def is_file_target(target: str) -> bool:
    return target.endswith(".py") or "/" in target or "\\" in target


def load_factory(ref: str) -> Callable:
    """The callable ``ref`` names (a one-line ModelError when it cannot be had)."""
    target, attribute = split_reference(ref)
    module = _import_file(ref, target) if is_file_target(target) else _import_module(ref, target)
    factory: Any = module
    for part in attribute.split("."):
        if not hasattr(factory, part):
            found = declared_factories(module)
            hint = f"; declared factories in it: {', '.join(found)}" if found else ""
            raise ModelError(f"{ref}: {target} has no attribute {attribute!r}{hint}")
        factory = getattr(factory, part)
    if not callable(factory):
        raise ModelError(f"{ref}: {attribute} is a {type(factory).__name__}, not a function or class that builds "
                         "the network")
    return factory


def declared_factories(module) -> list[str]:
    return sorted(name for name, value in vars(module).items()
                  if callable(value) and isinstance(getattr(value, DECLARATION, None), dict))


def _import_module(ref: str, target: str):
    try:
        return importlib.import_module(target)
    except ModuleNotFoundError as exc:
        if exc.name and target.startswith(exc.name):
            raise ModelError(f"{ref}: no module named {exc.name!r} (is its package installed, or did you mean a "
                             "file: path/to/file.py:factory?)") from None
        raise ModelError(f"{ref}: importing {target} failed: {_describe(exc, None)}") from exc
    except Exception as exc:
        raise ModelError(f"{ref}: importing {target} failed: {_describe(exc, None)}") from exc


def _import_file(ref: str, target: str):
    path = Path(target).expanduser()
    path = (path if path.is_absolute() else Path.cwd() / path).resolve()
    if path in _FILES:
        return _FILES[path]
    if not path.is_file():
        raise ModelError(f"{ref}: no file {target} (relative to {Path.cwd()})")
    stem = re.sub(r"\W", "_", path.stem)
    name = f"_edgesr_model_{stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:10]}"  # one per file
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelError(f"{ref}: {target} cannot be imported as a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it: dataclasses and pickling look the module up
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[name]
        if not isinstance(exc, Exception):
            raise
        raise ModelError(f"{ref}: importing {target} failed: {_describe(exc, path)}") from exc
    _FILES[path] = module
    return module


def _describe(exc: BaseException, path: Path | None) -> str:
    """``Type: first line of the message (line N of the file)``."""
    text = str(exc).strip().splitlines()
    where = ""
    if path is not None:
        lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == path]
        if isinstance(exc, SyntaxError) and exc.lineno:
            lines.append(exc.lineno)
        where = f" (line {lines[-1]})" if lines else ""
    return f"{type(exc).__name__}: {text[0] if text else ''}{where}"


def entry_point_names() -> list[str]:
    """The model names other packages register (their modules are not imported)."""
    return sorted({ep.name for ep in metadata.entry_points(group=ENTRY_POINTS)})


def entry_point_factory(name: str) -> Callable | None:
    """The factory an installed package registers as ``name`` (None: none does)."""
    for ep in metadata.entry_points(group=ENTRY_POINTS):
        if ep.name != name:
            continue
        owner = f" (registered by {ep.dist.name})" if getattr(ep, "dist", None) is not None else ""
        try:
            factory = ep.load()
        except Exception as exc:
            raise ModelError(f"model {name}{owner}: loading {ep.value} failed: {_describe(exc, None)}") from exc
        if not callable(factory):
            raise ModelError(f"model {name}{owner}: {ep.value} is a {type(factory).__name__}, not a factory")
        return factory
    return None

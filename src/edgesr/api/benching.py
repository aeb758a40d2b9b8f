"""``bench``: every format and precision of a model exported, run in a fresh process, timed and
scored against the PyTorch FP32 baseline (:mod:`edgesr.benchmark.harness`), with the report files."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Callable

from edgesr.api.sources import resolve
from edgesr.errors import ConfigError, ModelError


def bench(model="masrn", *, out_dir: str | os.PathLike | None = None, json_path: str | os.PathLike | None = None,
          log: Callable[[str], None] | None = None, **options) -> dict:
    """Bench ``model`` (a registry name or reference, or an ``nn.Module``); returns the report
    (``rows``: one per format, precision, weights and scale, with its ``status``). ``options`` are
    the fields of :class:`edgesr.benchmark.options.BenchOptions`: ``scales``, ``formats``, ``precisions``,
    ``quant``, ``dataset``, ``data_root``, ``input_size``, ``weights``, ``cache``, ``device``,
    ``devices_dir``, ``min_runs``, ``min_seconds``, ... With ``out_dir`` the report is also written
    there (bench.md, bench.json or ``json_path``, bench.csv, bench.png).

    Each artifact and the baseline run in a fresh process, which rebuilds the model: an
    ``nn.Module`` is saved to a temporary weights file and rebuilt from its spec's reference (a
    registry name, ``module:factory`` or ``file.py:factory``); a module built any other way is
    refused. A failed row does not raise: see :func:`edgesr.benchmark.harness.failed_rows`."""
    from edgesr.benchmark import harness
    from edgesr.benchmark.options import BenchOptions

    fields = {f.name for f in dataclasses.fields(BenchOptions)} - {"model"}
    unknown = sorted(set(options) - fields)
    if unknown:
        raise ConfigError(f"unknown bench option {', '.join(unknown)}; known: {', '.join(sorted(fields))}")
    options = {k: tuple(v) if k in ("scales", "formats", "precisions", "quant", "torch_modes") and v is not None
               and not isinstance(v, str) else v for k, v in options.items()}
    source = resolve(model, kind="model")
    with _rebuildable(source, options) as (ref, weights):
        opts = BenchOptions(model=ref, **{**options, "weights": weights})
        report = harness.bench(opts, log=log or (lambda _: None))
    if out_dir is not None:
        from edgesr.benchmark.report import write_report

        write_report(report, Path(out_dir), json_path)
    return report


@contextlib.contextmanager
def _rebuildable(source, options: dict):
    """``(reference, weights file)`` a worker process rebuilds the model from: a named model's own;
    for a module, its spec's reference and its state saved to a temporary file (removed after)."""
    weights = options.get("weights")
    if source.module is None:
        yield source.ref, str(weights) if weights else None
        return
    if weights is not None:
        raise ModelError("weights= is for a model named by string; a module is benched with its own weights")
    ref = rebuild_reference(source.spec)
    options.setdefault("scales", source.scales[-1:])
    for s in options["scales"]:
        source.check_scale(s)
    from edgesr.models.weights import identity_metadata, save_weights

    with tempfile.TemporaryDirectory(prefix="edgesr-bench-weights-") as folder:  # the options go with the weights
        path = save_weights(source.module, Path(folder) / "module.safetensors", identity_metadata(source.module))
        yield ref, str(path)


def rebuild_reference(spec) -> str:
    """The string a fresh process rebuilds a module of ``spec`` from; refused when there is none."""
    from edgesr.models.registry import get_spec

    ref = getattr(spec, "ref", "") or spec.name
    try:
        known = get_spec(ref)
    except ModelError:
        known = None
    if known is None or known.build != spec.build or known.colour != spec.colour:
        raise ModelError(f"bench runs each artifact in a fresh process, which rebuilds the model: {spec.name} was "
                         "not built from a reference it can be rebuilt from; pass a model reference "
                         "(package.module:factory or path/to/file.py:factory) or a registered name instead")
    return ref

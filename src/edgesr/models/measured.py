"""What was measured of a shipped model, kept beside its weights as data that tests and docs read:
``pretrained/NAME.numerics.yaml`` (Set5 and Set14 PSNR, and dPSNR against PyTorch FP32, per format,
precision, weights and scale) and ``pretrained/NAME.perf.yaml`` (latency, with its ratios measured in
one run), each naming the CPU, the tools and the command that measured it. ``benchmarks/quant_table.py``
writes them; nothing here measures."""

from __future__ import annotations

from typing import Any

from edgesr.errors import ModelError

KINDS = ("numerics", "perf")


def measured(model: str, kind: str) -> dict[str, Any]:
    """The ``kind`` file (``numerics`` or ``perf``) of shipped ``model``."""
    import yaml

    from edgesr.models.weights import PRETRAINED_DIR

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    path = PRETRAINED_DIR / f"{model}.{kind}.yaml"
    if not path.is_file():
        raise ModelError(f"nothing measured of {model!r} is shipped ({path.name} is missing); "
                         "python benchmarks/quant_table.py measures it")
    return yaml.safe_load(path.read_text())


def rows(model: str, kind: str, **where: Any) -> list[dict[str, Any]]:
    """The rows of ``model``'s ``kind`` file whose fields equal ``where`` (format=, precision=, ...)."""
    return [r for r in measured(model, kind)["rows"] if all(r.get(k) == v for k, v in where.items())]

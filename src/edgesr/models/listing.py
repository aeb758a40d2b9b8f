"""The table behind ``edgesr models``."""

from __future__ import annotations

from dataclasses import dataclass

from edgesr.models.profile import count_macs, count_parameters
from edgesr.models.registry import create_model, get_spec, list_models


@dataclass(frozen=True)
class ModelRow:
    name: str
    colour: str
    upsampling: str
    scale: int
    params: int
    total_params: int
    macs: int
    description: str


def model_rows(lr_size: tuple[int, int] = (256, 256)) -> list[ModelRow]:
    rows = []
    for name in list_models():
        spec = get_spec(name)
        shared = None if spec.per_scale else create_model(name)
        for scale in spec.scales:
            model = create_model(name, scale=scale) if shared is None else shared
            rows.append(ModelRow(name, spec.colour, spec.upsampling, scale, count_parameters(model, scale),
                                 count_parameters(model), count_macs(model, lr_size, scale), spec.description))
    return rows


def _human(n: int) -> str:
    for unit, div in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= div:
            return f"{n / div:.2f}{unit}"
    return str(n)


def model_table(lr_size: tuple[int, int] = (256, 256)) -> str:
    rows = model_rows(lr_size)
    head = f"{'model':<11}{'colour':<8}{'input':<13}{'scale':<7}{'params':>9}{'all heads':>11}{'MACs':>10}"
    lines = [f"multiply-adds for one {lr_size[0]}x{lr_size[1]} LR image", head, "-" * len(head)]
    for r in rows:
        inp = "bicubic x s" if r.upsampling == "pre" else "LR"
        lines.append(f"{r.name:<11}{r.colour.upper():<8}{inp:<13}{'x' + str(r.scale):<7}"
                     f"{_human(r.params):>9}{_human(r.total_params):>11}{_human(r.macs):>10}")
    lines.append("")
    lines += [f"{name:<11}{get_spec(name).description}" for name in list_models()]
    return "\n".join(lines)

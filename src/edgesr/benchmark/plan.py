"""What ``edgesr bench`` measures: the (format, precision, quantization method) rows of the chosen
formats, and PyTorch's own (precision, mode) rows beside the FP32 eager baseline."""

from __future__ import annotations

from edgesr.benchmark.options import PYTORCH, BenchOptions, check_formats, check_quant, chosen_formats
from edgesr.errors import EdgesrError
from edgesr.formats import FORMATS


def plan(opts: BenchOptions, kind: str = "local") -> list[tuple[str, str, str]]:
    """(format, precision, quantization method) to bench: every precision of the chosen (or installed)
    formats, INT8 (and Core ML's W8A8) once per method of ``opts.quant`` (W8A16 from the float
    weights: ptq; "" for float precisions). PyTorch's own rows are :func:`torch_plan`'s."""
    from edgesr.formats import CALIBRATED

    check_formats(opts, kind)
    check_quant(opts)
    chosen, pairs = chosen_formats(opts, kind), []
    for name, row in FORMATS.items():
        if name not in chosen:
            continue
        pairs += [(name, p, q) for p in row.precisions if opts.precisions is None or p in opts.precisions
                  for q in (opts.quant if p in ("int8", row.int8_activations) else ("ptq",) if p in CALIBRATED
                            else ("",))]
    if not pairs and PYTORCH not in chosen:  # pytorch alone may ask for its baseline only
        raise EdgesrError("no format takes the precisions asked for; see docs/targets.md")
    return pairs


def torch_plan(opts: BenchOptions, kind: str = "local") -> list[tuple[str, str]]:
    """(precision, mode) of PyTorch's own rows, when ``pytorch`` is among the formats: every
    precision and mode asked for (default: all), less FP32 eager, which is the baseline."""
    from edgesr.runtimes.torch_modes import TORCH_MODES, TORCH_PRECISIONS

    if PYTORCH not in chosen_formats(opts, kind):
        return []
    return [(p, m) for p in TORCH_PRECISIONS if opts.precisions is None or p in opts.precisions
            for m in opts.torch_modes or TORCH_MODES if (p, m) != ("fp32", "eager")]

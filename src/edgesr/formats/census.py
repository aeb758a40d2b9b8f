"""What an artifact's graph holds, before it is deployed: its ops, the largest tensor rank, and what an
accelerator is known to hand back to the CPU.

``census(artifact, format)`` returns JSON types (it goes into every manifest as ``ops``)::

    {"ops": {"CONV_2D": 24, "DEPTH_TO_SPACE": 2, ...},   # op name -> count, all subgraphs / functions
     "max_rank": 4,                                     # largest rank of a tensor the graph computes
     "above_rank4": [[1, 1, 1, 3, 1, 128, 1, 128]],     # their shapes (at most 8, each once)
     "layout_ops": 0,                                   # TRANSPOSE / Transpose / transpose ops
     "cpu_fallback": [{"op": "BROADCAST_TO", "count": 1, "why": "..."}],
     "not_int8": [{"op": "CONV_2D", "count": 2, "output": "int16", "why": "..."}]}  # LiteRT, quantized graphs

``not_int8`` (LiteRT INT8 and W8A16) lists the ops of a quantized graph that do not compute in 8-bit
integers: 16-bit ones run on LiteRT's reference kernels (XNNPACK has none), float ones between a
DEQUANTIZE and a QUANTIZE; edgesr's INT8 has none.

``cpu_fallback`` lists what the LiteRT GPU delegate would not take, by its own rules:

* an op missing from ``CheckGpuDelegateCompatibility``'s switch is "Not supported op" (TensorFlow,
  tensorflow/lite/tools/versioning/gpu_compatibility.cc: BROADCAST_TO, for one, is not there);
* a tensor of rank above 4 fails the delegate's ``ExtractTensorShape`` ("has bad input dims size",
  tensorflow/lite/delegates/gpu/common/model_builder_helper.cc: BHWC layouts of rank 0-4 only);
  phone NPUs work on 4-D layouts too, so every format reports such tensors.

LiteRT's DEPTH_TO_SPACE CPU kernel has no int16 (tflite/kernels/depth_to_space.cc: float32, uint8,
int8, int32, int64), which is why edgesr's int16 pixel shuffles are SPLIT, CONCATENATION, RESHAPE.
TRANSPOSE is accepted by the GPU delegate at rank <= 4 but is a copy at its tensor's size; a graph
that keeps NHWC throughout has none, so ``layout_ops`` counts them.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from edgesr.errors import EdgesrError

# tensorflow/lite/tools/versioning/gpu_compatibility.cc, CheckGpuDelegateCompatibility: the builtins it accepts
GPU_DELEGATE_OPS = frozenset("""
ABS ADD ADD_N AVERAGE_POOL_2D BATCH_MATMUL CAST CONCATENATION CONV_2D COS CUMSUM DENSIFY DEPTHWISE_CONV_2D
DEPTH_TO_SPACE DEQUANTIZE DIV ELU EQUAL EXP FLOOR FLOOR_DIV FLOOR_MOD FULLY_CONNECTED GATHER GELU GREATER
GREATER_EQUAL HARD_SWISH LEAKY_RELU LESS LESS_EQUAL LOG LOGICAL_AND LOGISTIC LSTM MAXIMUM MAX_POOL_2D MEAN
MINIMUM MIRROR_PAD MUL NEG NOT_EQUAL ONE_HOT PACK PAD PADV2 POW PRELU QUANTIZE REDUCE_MAX REDUCE_MIN
REDUCE_PROD RELU RELU6 RELU_N1_TO_1 RESHAPE RESIZE_BILINEAR RESIZE_NEAREST_NEIGHBOR RSQRT SELECT SELECT_V2
SIGN SIN SLICE SOFTMAX SPACE_TO_DEPTH SPLIT SPLIT_V SQRT SQUARE SQUARED_DIFFERENCE STRIDED_SLICE SUB SUM TANH
TILE TRANSPOSE TRANSPOSE_CONV
""".split())
MAX_RANK = 4  # what GPU delegates and NPUs take
_LAYOUT = {"TRANSPOSE", "Transpose", "transpose"}
_RANK_WHY = "a tensor of rank {rank} (the LiteRT GPU delegate and NPUs take rank <= 4)"


def census(artifact: str | Path, fmt: str) -> dict[str, Any]:
    """The census of ``artifact`` (a ``fmt`` artifact, read by its format's ``census`` module); ``{}``
    for a format with none, and ``{"unavailable": why}`` where the package that reads it is missing."""
    from edgesr.formats.base import get_format

    try:
        return get_format(fmt).census(Path(artifact))
    except EdgesrError as exc:  # a missing reader package: the export itself stands
        return {"unavailable": str(exc)}


def summarize(ops: list[tuple[str, list[list[int]]]], gpu_ops: frozenset[str] | None = None) -> dict[str, Any]:
    """From (op name, shapes of the tensors it reads and writes) in graph order."""
    counts = Counter(name for name, _ in ops)
    ranks = [len(s) for _, shapes in ops for s in shapes]
    big: list[list[int]] = []
    fallback: dict[tuple[str, str], int] = {}
    for name, shapes in ops:
        for shape in shapes:
            if len(shape) > MAX_RANK and shape not in big:
                big.append(shape)
        why = None
        if gpu_ops is not None and name not in gpu_ops:
            why = "not an op the LiteRT GPU delegate takes"
        elif any(len(s) > MAX_RANK for s in shapes):
            why = _RANK_WHY.format(rank=max(len(s) for s in shapes))
        if why:
            fallback[(name, why)] = fallback.get((name, why), 0) + 1
    return {"ops": dict(sorted(counts.items())), "max_rank": max(ranks, default=0), "above_rank4": big[:8],
            "layout_ops": sum(counts[n] for n in _LAYOUT), "cpu_fallback": [
                {"op": name, "count": n, "why": why} for (name, why), n in sorted(fallback.items())]}



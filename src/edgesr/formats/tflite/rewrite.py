"""Edits of LiteRT flatbuffers where litert-torch and ai-edge-quantizer fall short.

ai-edge-quantizer has no DEPTH_TO_SPACE or PRELU, and LiteRT's DEPTH_TO_SPACE kernel no int16
one: :func:`hide_from_quantizer` and :func:`show_hidden` carry them through quantization. Also an
int8 graph output where the quantizer left an int16 one (:func:`int8_outputs`), uint8 image I/O
(:func:`uint8_io`) and short tensor names (:func:`compact`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgesr.errors import ExportError
from edgesr.manifest import VALUE_RANGE

def int8_outputs(path: Path) -> None:
    """An int8 graph output where the quantizer left an int16 one: when the last op reads a 16-bit
    tensor (masrn's residual ADD reads the 16-bit Refine output) it runs at 16 bits, and its output
    is the graph's; a QUANTIZE op requantizes it to int8 on the image's grid (1/255, what a
    rearrangement after that ADD got from the quantizer when there was one)."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    from edgesr.formats.tflite.metadata import write_model

    model = flatbuffer_utils.read_model(str(path))
    if not any(g.tensors[i].type == schema.TensorType.INT16 for g in model.subgraphs for i in g.outputs):
        return
    quantize = _opcode(model, schema, schema.BuiltinOperator.QUANTIZE)
    lo, hi = VALUE_RANGE
    for index, graph in enumerate(model.subgraphs):
        moved = {}
        for k, old in enumerate(graph.outputs):
            if graph.tensors[old].type != schema.TensorType.INT16:
                continue
            zero = -128 - round(lo * 255 / (hi - lo))
            moved[old] = graph.outputs[k] = _twin(graph, old, schema, schema.TensorType.INT8, [(hi - lo) / 255], [zero])
            graph.operators.append(_op(schema, quantize, old, moved[old]))
        _retarget(model, index, moved)
    write_model(model, path)


def hide_from_quantizer(src: Path) -> tuple[Path, dict[str, int]]:
    """A copy of ``src`` (beside it) whose ops that ai-edge-quantizer 0.10 lacks (it would leave them
    float between DEQUANTIZE and QUANTIZE) read as ops it quantizes as they must be, and {output
    tensor name: a DEPTH_TO_SPACE's block size, or ``PRELU``}. A DEPTH_TO_SPACE reads as a RESHAPE
    to the same shape (output on the input's scale); a PRELU as a MUL by its alpha (input and
    alpha per tensor, output on its own range: what LiteRT's int8 PRELU takes). Calibration runs on
    ``src`` itself."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    from edgesr.formats.tflite.metadata import write_model

    model = flatbuffer_utils.read_model(str(src))
    reshape = _opcode(model, schema, schema.BuiltinOperator.RESHAPE, 1)
    blocks, codes = {}, builtin_codes(model)
    for graph in model.subgraphs:
        for op in graph.operators:
            if codes[op.opcodeIndex] == schema.BuiltinOperator.DEPTH_TO_SPACE:
                out = graph.tensors[op.outputs[0]]
                blocks[tensor_name(out)] = op.builtinOptions.blockSize
                options = schema.ReshapeOptionsT()
                options.newShape = [int(d) for d in out.shape]
                op.opcodeIndex, op.builtinOptionsType, op.builtinOptions = reshape, schema.BuiltinOptions.ReshapeOptions, options
            elif codes[op.opcodeIndex] == schema.BuiltinOperator.PRELU:
                blocks[tensor_name(graph.tensors[op.outputs[0]])] = PRELU
                op.opcodeIndex = _opcode(model, schema, schema.BuiltinOperator.MUL, 1)
                op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.MulOptions, schema.MulOptionsT()
    hidden = src.with_name(src.stem + ".hidden.tflite")
    write_model(model, hidden)
    return hidden, blocks


PRELU = 0  # what :func:`hide_from_quantizer` records for a PRELU (a DEPTH_TO_SPACE: its block size)


def show_hidden(path: Path, blocks: dict[str, int]) -> None:
    """Undo :func:`hide_from_quantizer` on the quantized model: PRELU (version 1, int8 too) and
    DEPTH_TO_SPACE again, the latter except on int16 tensors, which LiteRT's DEPTH_TO_SPACE kernel
    does not take (float32, int8, uint8, int32, int64 only): there the same rearrangement as SPLIT,
    CONCATENATION and RESHAPE, still rank 4 and transpose-free (:func:`_int16_shuffle`)."""
    if not blocks:
        return
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    from edgesr.formats.tflite.metadata import write_model

    model = flatbuffer_utils.read_model(str(path))
    for graph in model.subgraphs:
        ops = []
        for op in graph.operators:
            r = blocks.get(tensor_name(graph.tensors[op.outputs[0]])) if op.outputs else None
            if r is None:
                ops.append(op)
            elif r == PRELU:
                if graph.tensors[op.outputs[0]].type == schema.TensorType.INT16:
                    raise ExportError("LiteRT has no int16 PRELU; export PReLU models with -p int8 or --pure-int8")
                op.opcodeIndex = _opcode(model, schema, schema.BuiltinOperator.PRELU, 1)
                op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.NONE, None
                ops.append(op)
            elif graph.tensors[op.outputs[0]].type == schema.TensorType.INT16:
                ops.extend(_int16_shuffle(model, graph, schema, op.inputs[0], op.outputs[0], r))
            else:
                options = schema.DepthToSpaceOptionsT()
                options.blockSize = r
                int8 = graph.tensors[op.outputs[0]].type == schema.TensorType.INT8
                op.opcodeIndex = _opcode(model, schema, schema.BuiltinOperator.DEPTH_TO_SPACE, 2 if int8 else 1)
                op.inputs = op.inputs[:1]
                op.builtinOptionsType, op.builtinOptions = schema.BuiltinOptions.DepthToSpaceOptions, options
                ops.append(op)
        graph.operators = ops
    write_model(model, path)


def _int16_shuffle(model, graph, schema, source: int, target: int, r: int) -> list:
    """NHWC depth-to-space of ``source`` [1, H, W, r*r*C] into ``target`` [1, H*r, W*r, C] as
    SPLIT into r channel groups (group i holds rows i of each block: [1, H, W, r*C]), their
    CONCATENATION along W ([1, H, r*W, r*C], whose memory order is the output's) and a RESHAPE."""
    n, h, w, depth = (int(d) for d in graph.tensors[source].shape)

    def tensor(shape: list[int], like: int | None = None, data: np.ndarray | None = None) -> int:
        t = schema.TensorT()
        t.shape, t.name = list(shape), str(len(graph.tensors))
        if data is None:
            t.type, t.buffer, t.quantization = graph.tensors[like].type, 0, graph.tensors[like].quantization
        else:
            buffer = schema.BufferT()
            buffer.data = np.frombuffer(data.astype("<i4").tobytes(), np.uint8)
            model.buffers.append(buffer)
            t.type, t.buffer = schema.TensorType.INT32, len(model.buffers) - 1
        graph.tensors.append(t)
        return len(graph.tensors) - 1

    def op(builtin: int, version: int, inputs: list[int], outputs: list[int], kind: int, options) -> object:
        o = schema.OperatorT()
        o.opcodeIndex, o.inputs, o.outputs = _opcode(model, schema, builtin, version), inputs, outputs
        o.builtinOptionsType, o.builtinOptions = kind, options
        return o

    ops = schema.BuiltinOperator
    parts = [tensor([n, h, w, depth // r], like=source) for _ in range(r)]
    joined = tensor([n, h, r * w, depth // r], like=source)
    split, concat, reshape = schema.SplitOptionsT(), schema.ConcatenationOptionsT(), schema.ReshapeOptionsT()
    split.numSplits, concat.axis = r, 2
    reshape.newShape = [int(d) for d in graph.tensors[target].shape]
    axis = tensor([], data=np.array(3))
    shape = tensor([4], data=np.array(reshape.newShape))
    return [op(ops.SPLIT, 4, [axis, source], parts, schema.BuiltinOptions.SplitOptions, split),  # int16: v4
            op(ops.CONCATENATION, 3, parts, [joined], schema.BuiltinOptions.ConcatenationOptions, concat),
            op(ops.RESHAPE, 1, [joined, shape], [target], schema.BuiltinOptions.ReshapeOptions, reshape)]


def tensor_name(tensor) -> str:
    return tensor.name.decode() if isinstance(tensor.name, bytes) else tensor.name


def builtin_codes(model) -> list[int]:
    """The builtin operator of each of ``model``'s operator codes (by index)."""
    return [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]


def compact(path: Path) -> None:
    """Make the file smaller without changing what it computes: tensor names (litert-torch writes
    each tensor's full module path, ~200 bytes, once per signature) become their index, signatures
    keeping their own input and output names, which is what callers use; a constant tensor that
    several signatures share gets one quantization table (:func:`edgesr.formats.tflite.metadata.write_model`)."""
    from ai_edge_litert.tools import flatbuffer_utils

    from edgesr.formats.tflite.metadata import write_model

    model = flatbuffer_utils.read_model(str(path))
    for subgraph in model.subgraphs:
        for i, tensor in enumerate(subgraph.tensors):
            tensor.name = str(i)
    write_model(model, path)


def uint8_io(path: Path) -> None:
    """uint8 image input and output for a full-integer model with int8 ones, as TensorFlow's
    converter makes them (inference_input_type=uint8): each subgraph's uint8 input feeds a QUANTIZE
    op to the int8 input, and a QUANTIZE op turns the int8 output into the uint8 one. The uint8
    tensors take the int8 ones' scale and their zero point + 128 (1/255 and 0: the value is the
    pixel), so the requantization is exact and the outputs equal the int8 model's. Neither
    litert-torch nor ai-edge-quantizer offers uint8 I/O, and the converter's own tool for it
    (modify_model_interface, in ai-edge-litert) only rewrites float inputs feeding QUANTIZE ops and
    float outputs after DEQUANTIZE ones: given this int8 model it reports success and changes nothing."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    from edgesr.formats.tflite.metadata import write_model

    model = flatbuffer_utils.read_model(str(path))
    quantize = _opcode(model, schema, schema.BuiltinOperator.QUANTIZE)
    for index, graph in enumerate(model.subgraphs):
        moved = {}
        for k, old in enumerate(graph.inputs):
            moved[old] = graph.inputs[k] = _uint8_twin(graph, old, schema)
            graph.operators.insert(0, _op(schema, quantize, moved[old], old))
        for k, old in enumerate(graph.outputs):
            moved[old] = graph.outputs[k] = _uint8_twin(graph, old, schema)
            graph.operators.append(_op(schema, quantize, old, moved[old]))
        _retarget(model, index, moved)
    write_model(model, path)


def _retarget(model, index: int, moved: dict[int, int]) -> None:
    """Point subgraph ``index``'s signature entries at the tensors that replaced theirs (``moved``)."""
    for signature in model.signatureDefs or []:
        if signature.subgraphIndex == index:
            for entry in [*signature.inputs, *signature.outputs]:
                entry.tensorIndex = moved.get(entry.tensorIndex, entry.tensorIndex)


def _uint8_twin(graph, index: int, schema) -> int:
    """Append a uint8 copy of the int8 tensor ``index`` (same shape and scale, zero point + 128)."""
    tensor = graph.tensors[index]
    q = tensor.quantization
    if tensor.type != schema.TensorType.INT8 or q is None or q.scale is None or len(q.scale) != 1:
        raise ExportError("--io uint8 needs int8 image I/O quantized per tensor; the quantizer left something else")
    return _twin(graph, index, schema, schema.TensorType.UINT8, q.scale, np.asarray(q.zeroPoint, np.int64) + 128)


def _twin(graph, index: int, schema, dtype: int, scale, zero_point) -> int:
    """Append a tensor of ``index``'s shape, of type ``dtype`` quantized per tensor; its index."""
    tensor, twin, quant = graph.tensors[index], schema.TensorT(), schema.QuantizationParametersT()
    quant.scale, quant.zeroPoint = np.asarray(scale, np.float32), np.asarray(zero_point, np.int64)
    twin.shape, twin.type, twin.buffer, twin.quantization = list(tensor.shape), dtype, 0, quant
    twin.shapeSignature, twin.hasRank, twin.name = tensor.shapeSignature, tensor.hasRank, str(len(graph.tensors))
    graph.tensors.append(twin)
    return len(graph.tensors) - 1


def _opcode(model, schema, builtin: int, version: int = 2) -> int:
    """Index of the operator code of ``builtin``, added (at ``version``) when the model has none; an
    existing one is raised to ``version`` (LiteRT's op versions: tools/versioning/op_version.cc)."""
    for i, code in enumerate(model.operatorCodes):
        if max(code.builtinCode, code.deprecatedBuiltinCode) == builtin:
            code.version = max(code.version, version)
            return i
    code = schema.OperatorCodeT()
    code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), version
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def _op(schema, opcode: int, source: int, target: int):
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = opcode, [source], [target]
    return op

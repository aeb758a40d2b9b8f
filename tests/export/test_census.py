"""The op census (edgesr.formats.census) of small artifacts built in place, no converter run."""

import numpy as np
import pytest

from edgesr.formats.census import census


def _tflite(path, ops):
    """A LiteRT model of ``ops``: (builtin name, input shapes, output shapes), float32 tensors."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model, graph = schema.ModelT(), schema.SubGraphT()
    model.version, model.buffers, model.operatorCodes = 3, [schema.BufferT()], []
    graph.tensors, graph.operators = [], []
    codes = {}

    def tensor(shape):
        t = schema.TensorT()
        t.shape, t.type, t.buffer, t.name = list(shape), schema.TensorType.FLOAT32, 0, str(len(graph.tensors))
        graph.tensors.append(t)
        return len(graph.tensors) - 1

    for name, ins, outs in ops:
        builtin = getattr(schema.BuiltinOperator, name)
        if name not in codes:
            code = schema.OperatorCodeT()
            code.builtinCode, code.deprecatedBuiltinCode, code.version = builtin, min(builtin, 127), 1
            model.operatorCodes.append(code)
            codes[name] = len(model.operatorCodes) - 1
        op = schema.OperatorT()
        op.opcodeIndex, op.inputs, op.outputs = codes[name], [tensor(s) for s in ins], [tensor(s) for s in outs]
        graph.operators.append(op)
    model.subgraphs = [graph]
    flatbuffer_utils.write_model(model, str(path))
    return path


def test_tflite_census_flags_what_the_gpu_delegate_leaves_to_the_cpu(tmp_path):
    pytest.importorskip("ai_edge_litert")
    path = _tflite(tmp_path / "old.tflite", [
        ("CONV_2D", [[1, 8, 8, 3]], [[1, 8, 8, 48]]),
        ("TRANSPOSE", [[1, 8, 8, 48]], [[1, 48, 8, 8]]),
        ("RESHAPE", [[1, 3, 8, 8]], [[1, 1, 1, 3, 1, 8, 1, 8]]),
        ("BROADCAST_TO", [[1, 1, 1, 3, 1, 8, 1, 8]], [[1, 1, 16, 3, 1, 8, 1, 8]]),
    ])
    c = census(path, "tflite")
    assert c["ops"] == {"BROADCAST_TO": 1, "CONV_2D": 1, "RESHAPE": 1, "TRANSPOSE": 1}
    assert c["max_rank"] == 8 and c["layout_ops"] == 1
    assert [1, 1, 16, 3, 1, 8, 1, 8] in c["above_rank4"]
    flagged = {f["op"]: f["why"] for f in c["cpu_fallback"]}
    assert set(flagged) == {"BROADCAST_TO", "RESHAPE"}
    assert "not an op the LiteRT GPU delegate takes" in flagged["BROADCAST_TO"] and "rank 8" in flagged["RESHAPE"]


def test_tflite_census_of_a_clean_graph(tmp_path):
    pytest.importorskip("ai_edge_litert")
    path = _tflite(tmp_path / "new.tflite", [("CONV_2D", [[1, 8, 8, 3]], [[1, 8, 8, 48]]),
                                            ("DEPTH_TO_SPACE", [[1, 8, 8, 48]], [[1, 32, 32, 3]])])
    c = census(path, "tflite")
    assert c == {"ops": {"CONV_2D": 1, "DEPTH_TO_SPACE": 1}, "max_rank": 4, "above_rank4": [], "layout_ops": 0,
                 "cpu_fallback": []}


def test_onnx_census_counts_ops_ranks_and_depth_to_space_mode(tmp_path):
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper

    w = helper.make_tensor("w", TensorProto.FLOAT, [48, 3, 1, 1], np.zeros(48 * 3, np.float32))
    shape = helper.make_tensor("s", TensorProto.INT64, [5], [1, 3, 16, 8, 8])
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["c"]),
         helper.make_node("DepthToSpace", ["c"], ["y"], blocksize=4, mode="CRD"),
         helper.make_node("Reshape", ["c", "s"], ["r"]),
         helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1, 3, 4])],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 32, 32]),
         helper.make_tensor_value_info("t", TensorProto.FLOAT, None)], initializer=[w, shape])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    c = census(path, "onnx")
    assert c["ops"] == {"Conv": 1, "DepthToSpace": 1, "Reshape": 1, "Transpose": 1}
    assert c["max_rank"] == 5 and c["above_rank4"] == [[1, 3, 16, 8, 8], [1, 16, 3, 8, 8]]
    assert c["layout_ops"] == 1 and c["depth_to_space_modes"] == ["CRD"]
    assert {f["op"] for f in c["cpu_fallback"]} == {"Reshape", "Transpose"}


def test_census_of_a_format_without_one_is_empty(tmp_path):
    assert census(tmp_path / "x.engine", "tensorrt") == {}

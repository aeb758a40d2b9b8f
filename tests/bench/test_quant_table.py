"""benchmarks/quant_table.py keeps what earlier runs measured on the same CPU, and only that."""

from tests.benchmark_scripts import load


def _module():
    return load("quant_table")


def _row(fmt, precision, psnr, weights="float", model="masrn", scale=2):
    return {"model": model, "scale": scale, "format": fmt, "precision": precision, "weights": weights,
            "set5_psnr": psnr}


def test_merge_keeps_earlier_pieces_of_the_same_cpu_and_replaces_what_was_remeasured():
    qt = _module()
    cpu = {"model": "AMD EPYC", "machine": "x86_64", "int_flags": ["avx2"]}
    old = {"host_cpu": cpu, "rows": [_row("pytorch", "fp32", 37.0), _row("onnx", "int8", 36.0)],
           "reports": {"masrn/onnx": 1}, "commands": ["a"]}
    new = {"host_cpu": cpu, "rows": [_row("pytorch", "fp32", 37.1), _row("tflite", "int8", 36.5)],
           "reports": {"masrn/tflite": 2}, "commands": ["b"]}
    merged = qt.merge(old, new)
    got = {(r["format"], r["precision"]): r["set5_psnr"] for r in merged["rows"]}
    assert got == {("pytorch", "fp32"): 37.1, ("onnx", "int8"): 36.0, ("tflite", "int8"): 36.5}
    assert [r["format"] for r in merged["rows"]] == ["pytorch", "onnx", "tflite"]
    assert merged["reports"] == {"masrn/onnx": 1, "masrn/tflite": 2} and merged["commands"] == ["a", "b"]
    # another CPU: nothing of the old table survives
    other = qt.merge({**old, "host_cpu": {**cpu, "int_flags": ["avx2", "avx512_vnni"]}}, new)
    assert other["rows"] == new["rows"]

"""benchmarks/int8_speed.py: each runtime's INT8 / FP32 latency ratio against the target for its CPU."""

from tests.benchmark_scripts import load


def _module():
    return load("int8_speed")


def test_targets_are_one_except_openvino_and_dot_product_cpus():
    speed = _module()
    assert speed.targets("onnx", ["avx2"]) == speed.targets("tflite", ["avx2"]) == 1.0
    assert speed.targets("openvino", ["avx2"]) == 0.6
    for flag in ("avx512_vnni", "avx_vnni", "asimddp"):
        assert speed.targets("tflite", ["avx2", flag]) == 0.6


def test_summary_pairs_each_runtimes_fp32_and_int8():
    speed = _module()
    cpu = {"model": "AMD EPYC", "machine": "x86_64", "int_flags": ["avx2"]}
    row = {"quant": "qat", "dpsnr": -0.03, "artifact": None}
    report = {"host_cpu": cpu, "threads": 2, "input_size": "256x256", "tools": {}, "rows": [
        {**row, "format": "pytorch", "precision": "fp32", "latency_ms": 900.0},
        {**row, "format": "onnx", "precision": "fp32", "latency_ms": 100.0},
        {**row, "format": "onnx", "precision": "int8", "latency_ms": 60.0},
        {**row, "format": "tflite", "precision": "fp32", "latency_ms": 100.0},
        {**row, "format": "tflite", "precision": "int8", "latency_ms": 103.0},
        {**row, "format": "openvino", "precision": "fp32", "latency_ms": 100.0},
        {**row, "format": "openvino", "precision": "int8", "latency_ms": None}]}  # a failed row: left out
    rows = {r["format"]: r for r in speed.summarise(report)["rows"]}
    assert set(rows) == {"onnx", "tflite"}
    assert rows["onnx"]["met"] and abs(rows["onnx"]["ratio"] - 0.6) < 1e-9
    assert not rows["tflite"]["met"] and "| tflite | 100.0 | 103.0 | 1.03 | <= 1.0 | NO |" in speed.markdown(
        speed.summarise(report), "cmd")


def test_results_are_named_after_the_kind_of_cpu():
    from edgesr.runtimes.measure import cpu_slug

    assert cpu_slug({"model": "AMD EPYC", "machine": "x86_64", "int_flags": ["avx2"]}) == "amd-epyc-avx2"
    assert cpu_slug({"model": "Intel(R) Xeon(R) Platinum 8375C", "int_flags": ["avx2", "avx512_vnni"]}) == (
        "intel-r-xeon-r-platinum-8375c-avx2-avx512-vnni")
    assert cpu_slug({"model": "", "int_flags": []}) == "cpu"

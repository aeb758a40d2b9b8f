"""The format table: each format a package of what it says, asked through one interface."""

import importlib.util
from pathlib import Path

import pytest

from edgesr.errors import ExportError
from edgesr.formats import ATOL, FORMATS, LOSS_BOUND_DB, TORCH_PSNR_FLOOR_DB, Format, get_format, manifest_tools
from edgesr.formats.base import Conversion


@pytest.mark.parametrize("format_", FORMATS.values(), ids=list(FORMATS))
def test_each_format_is_a_package_of_what_it_says(format_):
    """edgesr/formats/<name>/: its export and runner modules (and metadata and census where it says it
    has them), found without importing a converter or a runtime."""
    package = format_.package_name
    for part in ("export", "runner", *(("metadata",) if format_.metadata else ()), "census"):
        found = importlib.util.find_spec(f"{package}.{part}") is not None
        assert found or (part == "census" and format_.census.__func__ is Format.census), (package, part)
    assert format_.runner_module == f"{package}.runner"
    assert format_.suffix.startswith(".") and format_.precisions and format_.devices
    assert set(format_.precisions) <= set(LOSS_BOUND_DB)  # every precision has a bound
    assert any(format_.atol(p) is not None for p in format_.precisions)  # and one is held elementwise
    assert set(format_.schemes) - {"int16"} <= set(format_.precisions)
    # a quantized precision says its scheme in words and as fields, and only those do
    assert set(format_.quant_schemes) == set(format_.schemes) - {"int16"}
    assert format_.install_hint.startswith("pip install")
    if not format_.shared:
        with pytest.raises(ExportError, match="cannot hold several scales in one artifact"):
            format_.export(None, Path("unused"), Conversion((2, 3), format_.precisions[0]))


def test_runners_are_named_as_their_rows_say():
    """Importing a runner module imports no runtime; its class carries the row's runtime name."""
    for format_ in FORMATS.values():
        assert format_.runner_class().name == format_.runtime
        if format_.remote:  # the on-device runner asks the runner what the board has
            assert callable(format_.runner_class().available)


def test_unknown_format_and_precision_are_named():
    with pytest.raises(ExportError, match="unknown format 'pt'; known formats: onnx, tflite, coreml, openvino, executorch, tensorrt"):
        get_format("pt")
    from edgesr.formats import check_precision

    with pytest.raises(ExportError, match="tensorrt does not take precision 'fp32'; it takes fp16, int8"):
        check_precision(get_format("tensorrt"), "fp32")


def test_tolerances_are_per_precision_unless_a_row_overrides_them():
    onnx = get_format("onnx")
    assert onnx.loss_bound("int8") == LOSS_BOUND_DB["int8"] and onnx.torch_floor("fp32") == TORCH_PSNR_FLOOR_DB["fp32"]
    assert onnx.atol("fp32") == ATOL["fp32"] and onnx.atol("int8") is None
    from dataclasses import replace

    strict = replace(onnx, tolerances={"atol": {"fp32": 1e-6}})
    assert strict.atol("fp32") == 1e-6 and strict.loss_bound("int8") == LOSS_BOUND_DB["int8"]


def test_manifests_record_every_formats_tools():
    from edgesr.conversion.api import _TOOLS

    assert _TOOLS == manifest_tools() and manifest_tools()[0] == "torch"


def test_where_a_runtime_cannot_run_the_row_says_why(monkeypatch):
    import edgesr.formats.base as backends

    coreml = get_format("coreml")
    monkeypatch.setattr(backends.sys, "platform", "linux")
    assert coreml.unavailable() == "coreml runs only on darwin (this is linux)"
    monkeypatch.setattr(backends.importlib.util, "find_spec", lambda name: None)
    # the runtime alone: the extra without a converter, and without torch
    assert get_format("onnx").unavailable() == "onnxruntime is not installed: pip install 'edgesr[ort]'"
    assert get_format("tflite").unavailable() == "litert is not installed: pip install 'edgesr[litert]'"


def test_coreml_runner_switches_between_the_functions_of_its_package(tmp_path):
    """A shared-trunk package holds one function per scale: switch() moves to another (loaded on
    first use; the conformance suite runs them on macOS)."""
    from edgesr.errors import ScaleError
    from edgesr.formats.coreml.runner import CoreMLRunner
    from edgesr.manifest import Head, Manifest, TensorSpec

    def tensors(scale):
        return (TensorSpec("input", "NCHW", "float32", 3, 24, 24),
                TensorSpec("output", "NCHW", "float32", 3, 24 * scale, 24 * scale))

    manifest = Manifest("masrn", (2, 3, 4), "coreml", "fp32", "rgb", "post", *tensors(2), artifact_sha256="",
                        weights_sha256=None, heads=tuple(Head(s, f"x{s}", *tensors(s)) for s in (2, 3, 4)))
    runner = CoreMLRunner(tmp_path / "masrn.mlpackage", manifest, 3)
    assert runner.head.entry == "x3" and runner.tile == (24, 24) and runner.fixed_shape
    runner.switch(4)
    assert (runner.scale, runner.factor, runner.head.entry, runner.head.output.height) == (4, 4, "x4", 96)
    with pytest.raises(ScaleError, match="x2, x3, x4, not x5"):
        runner.switch(5)
    single = CoreMLRunner(tmp_path / "one.mlpackage", Manifest("masrn", (2,), "coreml", "fp32", "rgb", "post",
                                                              *tensors(2), artifact_sha256="", weights_sha256=None), 2)
    with pytest.raises(ScaleError, match="serves x2 only"):
        single.switch(3)


def test_cpu_runtimes_take_a_thread_count():
    """--threads reaches every CPU runtime; TensorRT (a GPU) and Core ML (its compute units) take none."""
    assert {b.name for b in FORMATS.values() if b.threads} == {"onnx", "tflite", "openvino", "executorch"}


def test_the_torch_runner_holds_its_threads_while_active():
    import torch

    from edgesr.models.weights import load_model
    from edgesr.runtimes.torch import TorchRunner

    before = torch.get_num_threads()
    runner = TorchRunner(load_model("bicubic", 2), 2, threads=1)
    with runner:
        assert torch.get_num_threads() == 1 and runner.threads == 1
    assert torch.get_num_threads() == before


def test_a_thread_count_is_refused_where_the_runtime_takes_none(tmp_path):
    """Core ML chooses its compute units itself: threads=N is one line, threads=0 (the default) passes."""
    from edgesr.errors import ArtifactError
    from edgesr.formats.registry import open_runner
    from edgesr.manifest import Manifest, Skip, TensorSpec, sha256, write_manifest

    package = tmp_path / "m.mlpackage"
    package.mkdir()
    (package / "Manifest.json").write_text("{}")
    write_manifest(package, Manifest("espcn", (2,), "coreml", "fp32", "y", "post",
                                     TensorSpec("input", "NCHW", "float32", 1, 24, 24),
                                     TensorSpec("output", "NCHW", "float32", 1, 48, 48), artifact_sha256=sha256(package),
                                     weights_sha256=None, check=Skip.NOT_ASKED.check("not asked for")))
    with pytest.raises(ArtifactError, match=r"coreml does not take a thread count .*; leave --threads out$"):
        open_runner(package, threads=2)
    assert open_runner(package, threads=0).name == "coreml"


@pytest.mark.parametrize("fmt", FORMATS.values(), ids=list(FORMATS))
def test_quantization_schemes_are_manifest_fields(fmt):
    """Each quantized precision's scheme is a manifest field a runner trusts: it passes the field
    checks, reads back from the manifest's JSON as it was, and drops its wide grid with --pure-int8."""
    import dataclasses
    import json

    from edgesr.manifest import Manifest, TensorSpec, _check_fields

    spec = TensorSpec("input", "NCHW", "float32", 3, 8, 8)
    for precision, scheme in fmt.quant_schemes.items():
        manifest = Manifest("masrn", (2,), fmt.name, precision, "rgb", "post", spec, spec, "0" * 64, None,
                            scheme=fmt.quant_scheme(precision, wide=True))
        _check_fields(manifest)
        assert Manifest.from_dict(json.loads(manifest.to_json())) == manifest
        assert fmt.quant_scheme(precision, wide=False) == dataclasses.replace(scheme, wide=None)
        assert (scheme.activations is None) == (scheme.graph == "weights_only")
        if fmt.mixed_int16 and precision == fmt.int8_activations and fmt.name != "coreml":  # Core ML: float16
            assert scheme.wide is not None and scheme.wide.bits == 16
    assert fmt.quant_scheme("fp32", wide=True) is None

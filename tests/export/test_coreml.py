"""Core ML: conversion, the package's spec, op list and weight compression are checked here;
predicting needs macOS (marked coreml_runtime)."""

import sys

import numpy as np
import pytest
import torch

from edgesr.errors import ArtifactError
from edgesr.export.api import export_model
from edgesr.export.manifest import artifact_bytes, read_manifest
from edgesr.models.weights import load_model
from edgesr.runtimes.registry import open_runner

pytest.importorskip("coremltools", reason="the coreml extra is not installed: pip install 'edgesr[coreml]'")
macos = pytest.mark.skipif(sys.platform != "darwin", reason="Core ML models predict only on macOS")


@pytest.fixture(scope="module")
def packages(tmp_path_factory, weights, data_root):
    out, w, root = tmp_path_factory.mktemp("coreml"), weights["masrn"], str(data_root)
    return {p: export_model("masrn", 4, "coreml", out, precision=p, weights=w, lr_size=(32, 32), data_root=root)
            for p in ("fp16", "int8", "palette6")} | {
        "shared": export_model("masrn", (2, 3, 4), "coreml", out, precision="fp16", weights=w,
                               lr_size=[(32, 32), (64, 64)], data_root=root),
        "x2": export_model("masrn", 2, "coreml", out, precision="fp16", weights=w, lr_size=[(32, 32), (64, 64)],
                           data_root=root)}


def test_spec_inputs_outputs_and_pixel_shuffle_place(packages):
    from edgesr.export.coreml import describe
    d = describe(packages["fp16"])
    main = d["functions"]["main"]
    assert main["inputs"] == {"input": {"shape": [1, 3, 32, 32], "dtype": "FLOAT32", "shapes": [[1, 3, 32, 32]]}}
    assert main["outputs"]["output"]["shape"] == [1, 3, 128, 128]
    assert main["outputs"]["output"]["dtype"] == "FLOAT32"
    ops = main["ops"]
    # the Upscale head (a conv) feeds a pixel shuffle, and the Refine convs come after it
    first = ops.index("pixel_shuffle")
    assert ops[first - 1] == "conv" and "conv" in ops[first + 1:]
    assert ops.count("pixel_shuffle") == 2  # the head, and the nearest-upsampled input
    assert d["compressed_weight_ops"] == []


@pytest.mark.parametrize("precision", ["int8", "palette6"])
def test_weight_compression(packages, precision):
    from edgesr.export.coreml import COMPRESSED_OPS, describe
    d = describe(packages[precision])
    assert set(d["compressed_weight_ops"]) & set(COMPRESSED_OPS[precision])
    assert artifact_bytes(packages[precision]) < 0.65 * artifact_bytes(packages["fp16"])


def test_multifunction_package_stores_shared_weights_once(packages):
    manifest = read_manifest(packages["shared"])
    assert [h.entry for h in manifest.heads] == ["x2", "x3", "x4"]
    assert manifest.input.sizes == ((32, 32), (64, 64)) and manifest.heads[2].output.sizes == ((128, 128), (256, 256))
    functions = manifest.check["package"]["functions"]
    assert set(functions) == {"x2", "x3", "x4"}
    assert functions["x3"]["inputs"]["input"]["shapes"] == [[1, 3, 32, 32], [1, 3, 64, 64]]
    ratio = artifact_bytes(packages["shared"]) / artifact_bytes(packages["x2"])
    assert ratio < 1.3, ratio


@pytest.mark.skipif(sys.platform == "darwin", reason="checks the refusal off macOS")
def test_runner_refuses_off_macos(packages):
    with pytest.raises(ArtifactError, match="only on macOS"):
        with open_runner(packages["fp16"]):
            pass


@pytest.mark.coreml_runtime
@macos
def test_predictions_match_pytorch(packages, weights):
    x = np.random.default_rng(0).random((1, 3, 32, 32), dtype=np.float32)
    for key, scale in (("fp16", 4), ("shared", 3)):
        with torch.no_grad():
            ref = load_model("masrn", scale, weights["masrn"])(torch.from_numpy(x), scale).numpy()
        with open_runner(packages[key], scale) as runner:
            np.testing.assert_allclose(runner.run(x), ref, atol=2e-2)

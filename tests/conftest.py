"""Shared fixtures. The benchmark sets are read in place from the data root
($EDGESR_DATA, else ../shared/datasets beside the checkout); tests that need them skip without it.

The fast lane, ``pytest -m "not slow"``, leaves out tests marked ``slow``; a test that uses one of
the exported-artifact fixtures below (``EXPORT_FIXTURES``: each converts models, tens of seconds)
is marked ``slow`` here, so that no fast test pays for them."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from edgesr.data.datasets import DATA_ENV

REPO = Path(__file__).resolve().parent.parent
# the session fixtures of this file that export models: a test needing one is slow
EXPORT_FIXTURES = ("artifacts", "tflite_artifacts", "shared_artifacts")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(name in item.fixturenames for name in EXPORT_FIXTURES):
            item.add_marker(pytest.mark.slow)


def _find_data_root() -> Path | None:
    env = os.environ.get(DATA_ENV)
    candidates = [Path(env)] if env else []
    candidates.append(REPO.parent / "shared" / "datasets")
    for path in candidates:
        if (path / "Set5").is_dir():
            return path
    return None


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = _find_data_root()
    if root is None:
        pytest.skip(f"benchmark sets not found: set {DATA_ENV} to the datasets folder")
    return root


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def photo() -> np.ndarray:
    """A smooth-ish 48x60 RGB test image with edges (deterministic)."""
    y, x = np.mgrid[0:48, 0:60]
    r = 128 + 100 * np.sin(x / 5.0) * np.cos(y / 7.0)
    g = np.where((x // 12 + y // 12) % 2 == 0, 200, 40).astype(float)
    b = 255 * x / 59.0
    return np.clip(np.stack([r, g, b], axis=2), 0, 255).round().astype(np.uint8)


@pytest.fixture(scope="session")
def weights(tmp_path_factory):
    """Random but fixed weights for espcn x2 (Y) and masrn (RGB, pixel shuffle with C = 3)."""
    import torch

    from edgesr.models import create_model
    from edgesr.models.weights import save_weights

    torch.manual_seed(0)
    d = tmp_path_factory.mktemp("weights")
    return {"espcn": save_weights(create_model("espcn", scale=2), d / "espcn.safetensors"),
            "masrn": save_weights(create_model("masrn"), d / "masrn.safetensors")}


@pytest.fixture(scope="session")
def tflite_artifacts(tmp_path_factory, weights, data_root):
    """LiteRT exports (fixed 24x24 / 32x32 LR input) shared by the export and runtime tests."""
    pytest.importorskip("litert_torch", reason="the tflite extra is not installed: pip install 'edgesr[tflite]'")
    from edgesr.conversion.api import export_model

    out = tmp_path_factory.mktemp("tflite")
    root = str(data_root)
    return {
        "espcn-fp32": export_model("espcn", 2, "tflite", out, weights=weights["espcn"], lr_size=(24, 24), data_root=root),
        "espcn-int8": export_model("espcn", 2, "tflite", out, precision="int8", weights=weights["espcn"],
                                   lr_size=(24, 24), calib_images=8, data_root=root),
        "masrn-fp16": export_model("masrn", 3, "tflite", out, precision="fp16", weights=weights["masrn"],
                                   lr_size=(32, 32), data_root=root),
    }


@pytest.fixture(scope="session")
def artifacts(tmp_path_factory, weights, data_root):
    """ONNX exports shared by the export and runtime tests (made once per session)."""
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: pip install 'edgesr[onnx]'")
    from edgesr.conversion.api import export_model

    out = tmp_path_factory.mktemp("exports")
    root = str(data_root)
    return {
        "espcn-fp32": export_model("espcn", 2, "onnx", out, weights=weights["espcn"], data_root=root),
        "espcn-int8": export_model("espcn", 2, "onnx", out, precision="int8", weights=weights["espcn"],
                                   calib_images=8, data_root=root),
        "masrn-fp32-fixed": export_model("masrn", 3, "onnx", out, weights=weights["masrn"], lr_size=(32, 32),
                                         data_root=root),
    }


@pytest.fixture(scope="session")
def shared_artifacts(tmp_path_factory, weights, data_root):
    """masrn x2/x3/x4 in ONE artifact (shared trunk) for ONNX and LiteRT, and one single-scale ONNX
    export to compare sizes with."""
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: pip install 'edgesr[onnx]'")
    pytest.importorskip("litert_torch", reason="the tflite extra is not installed: pip install 'edgesr[tflite]'")
    from edgesr.conversion.api import export_model

    out = tmp_path_factory.mktemp("shared")
    root, w = str(data_root), weights["masrn"]
    return {
        "onnx-fp32": export_model("masrn", (2, 3, 4), "onnx", out, weights=w, data_root=root),
        "onnx-int8": export_model("masrn", (2, 3, 4), "onnx", out, precision="int8", weights=w, calib_images=6,
                                  data_root=root),
        "onnx-x2": export_model("masrn", 2, "onnx", out, weights=w, data_root=root),
        "tflite-fp32": export_model("masrn", (2, 3, 4), "tflite", out, weights=w, lr_size=(64, 64), data_root=root),
        "tflite-int8": export_model("masrn", (2, 3, 4), "tflite", out, precision="int8", weights=w,
                                    lr_size=(64, 64), calib_images=6, data_root=root),
        "tflite-int8-x2": export_model("masrn", 2, "tflite", out, precision="int8", weights=w, lr_size=(64, 64),
                                       calib_images=6, data_root=root, check=False),
    }

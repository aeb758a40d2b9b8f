"""The INT8 artifacts on Arm: an emulated Cortex-A72 board (``../shared/tools/arm64-board.sh DIR``,
Debian arm64 with ONNX Runtime and LiteRT under qemu-user) computes what this x86 CPU computes."""

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edgesr.conversion.api import export_model
from edgesr.formats.registry import open_runner

ARM_PYTHON = os.environ.get("EDGESR_ARM_PYTHON")
pytestmark = pytest.mark.skipif(
    not ARM_PYTHON or not Path(ARM_PYTHON).exists(),
    reason="no emulated Arm board: build one with ../shared/tools/arm64-board.sh DIR and set EDGESR_ARM_PYTHON=DIR/python")


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_int8_on_arm_matches_x86(fmt, data_root, tmp_path):
    """The shipped masrn x4 in INT8 on a 16x16 input (the board runs ~150x slower than native):
    the same output but for rounding ties, which a later layer may carry a level or two (measured:
    LiteRT bit-identical; ONNX Runtime 0.002 grey levels apart on average, 2 at most)."""
    pytest.importorskip("onnxruntime" if fmt == "onnx" else "litert_torch")
    artifact = export_model("masrn", 4, fmt, tmp_path, precision="int8", lr_size=(16, 16), calib_images=8,
                            data_root=str(data_root), check=False)
    x = np.random.default_rng(0).random((1, 3, 16, 16), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    with open_runner(artifact) as runner:
        here = runner.run(x)
    subprocess.run([ARM_PYTHON, str(Path(__file__).with_name("board_run.py")), str(artifact), str(tmp_path / "x.npy"),
                    str(tmp_path / "arm.npy")], check=True, timeout=600)
    diff = np.abs(np.load(tmp_path / "arm.npy") - here) * 255
    assert diff.mean() <= 0.05 and diff.max() <= 3.01, (diff.mean(), diff.max())

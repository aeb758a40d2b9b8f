"""One INT8 artifact computes the same on every x86 CPU: the host against an emulated AMD EPYC Rome
(AVX2, no AVX-512, no VNNI: ``qemu-x86_64-static -cpu EPYC-Rome``). On a host with VNNI this
compares VNNI's int8 kernels with AVX2's, which add pairs of products in saturating 16 bits: with
8-bit weights, masrn x4 came out up to 85 grey levels apart in ONNX Runtime; the scheme's 63-step
weights cannot saturate them. (On a host without VNNI both sides run AVX2's kernels.) Arm is
``test_arm.py``'s."""

import platform
import shutil
import subprocess
import sys

import numpy as np
import pytest

from edgesr.conversion.api import export_model
from edgesr.formats.registry import open_runner

_QEMU = shutil.which("qemu-x86_64-static") or shutil.which("qemu-x86_64")
# run the artifact in the given runtime, one thread: argv = artifact, input .npy, output .npy
_SCRIPTS = {
    "onnx": "import sys, numpy as np, onnxruntime as ort; o = ort.SessionOptions(); o.intra_op_num_threads = 1; "
            "s = ort.InferenceSession(sys.argv[1], o, providers=['CPUExecutionProvider']); "
            "np.save(sys.argv[3], s.run(None, {'input': np.load(sys.argv[2])})[0])",
    "openvino": "import sys, numpy as np, openvino as ov; c = ov.Core().compile_model(sys.argv[1] + '/model.xml', "
                "'CPU', {'INFERENCE_PRECISION_HINT': 'f32', 'INFERENCE_NUM_THREADS': 1}); "
                "np.save(sys.argv[3], c.create_infer_request().infer({0: np.load(sys.argv[2])})[0])",
}


@pytest.mark.skipif(_QEMU is None, reason="qemu-user is not installed (apt-get install qemu-user-static): "
                                          "no emulated x86 CPU without VNNI")
@pytest.mark.skipif(platform.machine() != "x86_64", reason="qemu-x86_64 emulates an x86 CPU on x86 hosts only here")
@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["onnx", "openvino"])
def test_int8_same_on_x86_without_vnni(fmt, tmp_path, data_root):
    """The shipped masrn's INT8 artifact (x4, dynamic shape) on the emulated CPU gives the host's
    output: the same integer arithmetic, so equal up to the float rounding of the dequantization
    (measured on an AMD EPYC host: identical in both runtimes)."""
    pytest.importorskip({"onnx": "onnxruntime", "openvino": "openvino"}[fmt])
    artifact = export_model("masrn", 4, fmt, tmp_path, precision="int8", calib_images=8, data_root=str(data_root),
                            check=False)
    x = np.random.default_rng(3).random((1, 3, 24, 28), dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    proc = subprocess.run([_QEMU, "-cpu", "EPYC-Rome", sys.executable, "-c", _SCRIPTS[fmt], str(artifact),
                           str(tmp_path / "x.npy"), str(tmp_path / "y.npy")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open_runner(artifact, threads=1) as runner:
        here = runner.run(x)
    diff = np.abs(np.round(np.load(tmp_path / "y.npy") * 255) - np.round(here * 255))
    assert diff.max() <= 1, (diff.max(), diff.mean())

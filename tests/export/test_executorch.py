"""ExecuTorch (.pte, XNNPACK delegate): FP32 held to PyTorch, INT8 (PT2E, XNNPACK quantizer) within
its bound, one program with a method per scale, and the errors (a failed write; a corrupt file: tests/export/test_no_wrong_file.py)."""

import numpy as np
import pytest

pytest.importorskip("executorch.runtime", reason="the executorch extra is not installed: pip install 'edgesr[executorch]'")

from edgesr.errors import ExportError, ScaleError
from edgesr.conversion.api import export_model
from edgesr.formats import ATOL, LOSS_BOUND_DB
from edgesr.formats.registry import open_runner
from edgesr.inference import upscale
from edgesr.manifest import read_manifest, torch_psnr
from edgesr.models.weights import load_model
from edgesr.runtimes.torch import TorchRunner

LR = (24, 24)


@pytest.fixture(scope="module")
def pte(tmp_path_factory, weights, data_root):
    """espcn x2 FP32 and INT8 (4 calibration crops), checked on Set5 (made once per module)."""
    out, root = tmp_path_factory.mktemp("executorch"), str(data_root)
    return {p: export_model("espcn", 2, "executorch", out, precision=p, weights=weights["espcn"], lr_size=LR,
                            calib_images=4, data_root=root) for p in ("fp32", "int8")}


@pytest.fixture(scope="module")
def shared(tmp_path_factory, weights):
    """masrn x2/x3/x4 in one FP32 program."""
    out = tmp_path_factory.mktemp("executorch_shared")
    return export_model("masrn", (2, 3, 4), "executorch", out, weights=weights["masrn"], lr_size=LR, check=False)


@pytest.mark.slow
def test_fp32_matches_pytorch_and_tiles(pte, weights, photo, rng):
    m = read_manifest(pte["fp32"])
    assert (m.format, m.input.layout, m.input.height, m.output.height) == ("executorch", "NCHW", 24, 48)
    assert torch_psnr(m.check) > 50 and m.tools["executorch"]
    x = rng.random((1, 1, *LR), dtype=np.float32)
    with open_runner(pte["fp32"], threads=1) as runner, TorchRunner(load_model("espcn", 2, weights["espcn"]), 2) as ref:
        assert runner.runtime_version.startswith("executorch ") and runner.thread_count == 1
        first = runner.run(x)
        runner.run(rng.random((1, 1, *LR), dtype=np.float32))  # the next call must not overwrite the first output
        np.testing.assert_allclose(first, ref.run(x), atol=ATOL["fp32"])
        big = rng.random((2, 1, 40, 31), dtype=np.float32)  # batch 2, tiles of the fixed 24x24 program
        np.testing.assert_allclose(runner.run(big), ref.run(big), atol=ATOL["fp32"])
        assert np.abs(upscale(runner, photo).y.astype(int) - upscale(ref, photo).y.astype(int)).max() <= 1


@pytest.mark.slow
def test_int8_within_its_bound(pte):
    m = read_manifest(pte["int8"])
    assert m.precision == "int8" and m.quant_method == "ptq"
    assert m.check["dpsnr"] > -LOSS_BOUND_DB["int8"]
    assert pte["int8"].stat().st_size < pte["fp32"].stat().st_size  # int8 weights


@pytest.mark.slow
def test_one_program_serves_every_scale(shared, weights, rng):
    m = read_manifest(shared)
    assert [h.entry for h in m.heads] == ["x2", "x3", "x4"] and m.scale_input is None
    x = rng.random((1, 3, *LR), dtype=np.float32)
    with open_runner(shared, 2) as runner:
        for scale in (4, 2, 3):
            runner.switch(scale)
            with TorchRunner(load_model("masrn", scale, weights["masrn"]), scale) as ref:
                np.testing.assert_allclose(runner.run(x), ref.run(x), atol=ATOL["fp32"])
        with pytest.raises(ScaleError, match="not x5"):
            runner.switch(5)
    # XNNPACK keeps constants in the program's named data, keyed by content: the trunk's weights are
    # stored once, not once per method (three copies would be about 2.6 MB)
    model = load_model("masrn", 4, weights["masrn"])
    assert shared.stat().st_size < 1.1 * 4 * sum(p.numel() for p in model.parameters())
    # the census: one XNNPACK call per method; what stays outside the delegate is named (the nearest
    # upsampling of masrn's image residual: XNNPACK resizes bilinearly only)
    ops = m.ops
    assert ops["ops"]["delegate:XnnpackBackend"] == 3 and ops["max_rank"] == 4
    assert [f["op"] for f in ops["cpu_fallback"]] == ["aten::upsample_nearest2d"]


def test_a_failed_write_leaves_nothing(tmp_path, weights, monkeypatch):
    from executorch.exir import ExecutorchProgramManager

    def half_then_fail(self, f):
        f.write(self.buffer[: len(self.buffer) // 2])
        raise OSError("No space left on device")

    monkeypatch.setattr(ExecutorchProgramManager, "write_to_file", half_then_fail)
    with pytest.raises(ExportError, match="executorch fp32 export of espcn x2 failed: OSError: No space left"):
        export_model("espcn", 2, "executorch", tmp_path, weights=weights["espcn"], lr_size=LR, check=False)
    assert list(tmp_path.iterdir()) == []


def test_refuses_what_it_cannot_do(tmp_path, weights):
    with pytest.raises(ExportError, match="does not take precision 'fp16'"):
        export_model("espcn", 2, "executorch", tmp_path, precision="fp16", weights=weights["espcn"])
    from edgesr.formats import get_format
    from edgesr.formats.base import Conversion
    from edgesr.models import create_model

    executorch = get_format("executorch")
    with pytest.raises(ExportError, match="fixed input size"):
        executorch.export(create_model("espcn", scale=2), tmp_path / "m.pte", Conversion((2,), "fp32"))
    with pytest.raises(ExportError, match="calibration"):
        executorch.export(create_model("espcn", scale=2), tmp_path / "m.pte", Conversion((2,), "int8", input_size=LR))
    assert list(tmp_path.iterdir()) == []

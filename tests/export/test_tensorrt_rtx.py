"""TensorRT for RTX: engines built on this CPU-only machine from PyPI's wheels (``pip install
tensorrt-rtx-cu13``, which .ci/run does), for masrn x2, x3 and x4 in every precision; what can be
checked without a GPU is checked (the network parsed, the engine built and its size, its I/O names
and shapes, the manifest's version and targets) and the runner refuses in one line where no RTX GPU is."""

import importlib.util

import pytest
import torch

from edgesr.conversion.api import export_model
from edgesr.conversion.options import ExportOptions
from edgesr.errors import ArtifactError, ExportError
from edgesr.formats.engines import DEFAULT_PROFILE
from edgesr.formats.registry import open_runner
from edgesr.manifest import read_manifest

needs_rtx = pytest.mark.skipif(importlib.util.find_spec("tensorrt_rtx") is None,
                               reason="TensorRT for RTX is not installed: pip install 'edgesr[tensorrt-rtx]' (.ci/run does)")


def _check_engine(art, scale: int, precision: str, sizes) -> None:
    manifest = read_manifest(art)
    assert (manifest.format, manifest.precision, manifest.scales) == ("tensorrt-rtx", precision, (scale,))
    assert 0.3e6 < art.stat().st_size < 10e6, art.stat().st_size  # FP32 x4 1.57 MB, INT8 x4 4.47 MB when measured
    assert (manifest.input.name, manifest.output.name) == ("input", "output")
    assert manifest.input.channels == manifest.output.channels == 3
    assert (manifest.input.dtype, manifest.output.dtype) == ("float32", "float32")
    assert manifest.input.sizes == sizes
    assert manifest.output.sizes == tuple((h * scale, w * scale) for h, w in sizes)
    assert manifest.tools.get("tensorrt-rtx-cu13") or manifest.tools.get("tensorrt-rtx-cu12")
    assert manifest.check.get("skip") == "not_here"  # no GPU here to check it against PyTorch
    assert (manifest.scheme is not None) == (precision == "int8")
    if not torch.cuda.is_available():
        with pytest.raises(ArtifactError, match="runs on an NVIDIA RTX GPU .* and CUDA sees no GPU here"):
            with open_runner(art):
                pass


@needs_rtx
@pytest.mark.slow
@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_masrn_x4_engines_build_here(precision, tmp_path, data_root):
    """``edgesr export -m masrn -s 4 -f tensorrt-rtx -p P``, as written: a dynamic engine with the
    default profile."""
    art = export_model("masrn", 4, "tensorrt-rtx", tmp_path, precision=precision, data_root=str(data_root))
    assert art.name == f"masrn_x4_{precision}_dynamic.engine"
    _check_engine(art, 4, precision, DEFAULT_PROFILE)
    assert read_manifest(art).targets == ()  # TensorRT for RTX's default


@needs_rtx
@pytest.mark.slow
@pytest.mark.parametrize("scale", [2, 3])
def test_masrn_x2_x3_engines_for_chosen_gpus(scale, tmp_path, data_root):
    """The other scales, one engine each, with a profile and the GPU architectures asked for."""
    profile = ((16, 16), (64, 64), (128, 128))
    for precision in ("fp16", "int8"):
        art = export_model("masrn", scale, "tensorrt-rtx", tmp_path, precision=precision, profile=profile,
                           targets=("sm86", "sm89"), calib_images=8, data_root=str(data_root))
        _check_engine(art, scale, precision, profile)
        assert read_manifest(art).targets == ("sm86", "sm89")


def test_targets_are_checked_before_any_work():
    with pytest.raises(ExportError, match="tensorrt-rtx builds for sm75, .*sm121, not 'sm90'"):
        ExportOptions.build(4, "tensorrt-rtx", targets=("sm90",))
    with pytest.raises(ExportError, match="--targets is for tensorrt-rtx exports only"):
        ExportOptions.build(4, "onnx", targets=("sm86",))
    with pytest.raises(ExportError, match="cannot hold several scales in one artifact"):
        from edgesr.formats import get_format
        from edgesr.formats.base import Conversion

        get_format("tensorrt-rtx").export(None, None, Conversion((2, 3), "fp16"))
    assert ExportOptions.build(4, "tensorrt-rtx", targets=["sm89"]).targets == ("sm89",)

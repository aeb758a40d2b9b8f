import numpy as np
import pytest
import torch

from edgesr.export.manifest import read_manifest
from edgesr.models.weights import load_model
from edgesr.runtimes.registry import open_runner

pytest.importorskip("litert_torch", reason="the tflite extra is not installed: pip install 'edgesr[tflite]'")


def test_manifest_says_nhwc_fixed_and_int8_io(tflite_artifacts):
    fp32 = read_manifest(tflite_artifacts["espcn-fp32"])
    assert (fp32.input.layout, fp32.input.dtype, fp32.input.height, fp32.input.width) == ("NHWC", "float32", 24, 24)
    assert (fp32.output.height, fp32.output.width, fp32.output.channels) == (48, 48, 1)
    int8 = read_manifest(tflite_artifacts["espcn-int8"])
    assert int8.input.dtype == int8.output.dtype == "int8"
    scale, zero = int8.input.quantization
    assert 0 < scale < 0.01 and -128 <= zero <= 127
    assert fp32.check["psnr_vs_torch"] > 60 and int8.check["psnr_vs_torch"] > 30


def test_full_integer(tflite_artifacts):
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=str(tflite_artifacts["espcn-int8"]))
    kinds = {np.dtype(t["dtype"]).name for t in it.get_tensor_details()}
    assert "float32" not in kinds


def test_rgb_pixel_shuffle_matches_pytorch(tflite_artifacts, weights):
    """C = 3 through litert-torch's pixel shuffle, NHWC at the boundary: a wrong channel order shows."""
    model = load_model("masrn", 3, weights["masrn"])
    x = np.random.default_rng(0).random((1, 3, 32, 32), dtype=np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x), 3).numpy()
    with open_runner(tflite_artifacts["masrn-fp16"]) as runner:
        np.testing.assert_allclose(runner.run(x), ref, atol=2e-2)


def test_fixed_shape_tiles_larger_images(tflite_artifacts, weights, photo):
    from edgesr.inference import torch_upscaler, upscale
    ref = torch_upscaler(load_model("espcn", 2, weights["espcn"]))(photo, 2)
    with open_runner(tflite_artifacts["espcn-fp32"]) as runner:
        out = upscale(runner, photo)  # 48x60 through 24x24 tiles
    assert np.abs(out.y - ref.y).max() <= 1


def test_int8_io_spans_the_value_range(tflite_artifacts):
    """Integer input and output are pinned to [0, 1]: a step of exactly 1/255 and nothing clipped."""
    int8 = read_manifest(tflite_artifacts["espcn-int8"])
    for spec in (int8.input, int8.output):
        scale, zero = spec.quantization
        assert scale == pytest.approx(1 / 255, rel=1e-6) and zero == -128


def test_calibration_ranges_are_the_union_over_inputs(tflite_artifacts):
    """Each tensor's range covers every calibration input (ai-edge-quantizer alone keeps a moving
    average that ends inside it)."""
    from ai_edge_quantizer import quantizer, recipe

    from edgesr.export.tflite import _min_max_ranges

    path = str(tflite_artifacts["espcn-fp32"])
    qt = quantizer.Quantizer(path)
    qt.load_quantization_recipe(recipe.static_wi8_ai8())
    rng = np.random.default_rng(0)
    xs = [(rng.random((1, 24, 24, 1)) * k).astype(np.float32) for k in (1.0, 0.2, 0.2, 0.2)]
    key, io = next(iter(_signatures(path).items()))
    feeds = [{io["inputs"][0]: x} for x in xs]
    merged = _min_max_ranges(qt, {key: feeds}, io_names=set())
    first = qt.calibrate({key: feeds[:1]})  # the bright input alone
    for name, qsv in first.items():
        assert np.all(merged[name]["max"] >= qsv["max"]) and np.all(merged[name]["min"] <= qsv["min"])
    moving = qt.calibrate({key: feeds})
    assert any(np.any(merged[n]["max"] > moving[n]["max"] + 1e-6) for n in moving)


def _signatures(path):
    from ai_edge_litert.interpreter import Interpreter
    return Interpreter(model_path=path).get_signature_list()


@pytest.fixture(scope="module")
def uint8_io(tmp_path_factory, data_root):
    """masrn x4 (the shipped weights) as INT8 with uint8 image I/O, checked on Set5 by the export."""
    from edgesr.export.api import export_model

    return export_model("masrn", 4, "tflite", tmp_path_factory.mktemp("uint8"), precision="int8", io="uint8",
                        lr_size=(32, 32), calib_images=8, data_root=str(data_root))


@pytest.mark.slow
def test_uint8_io_takes_and_gives_pixels(uint8_io):
    """uint8 NHWC in and out, the value being the pixel (scale 1/255, zero point 0), requantized to
    and from the int8 graph by QUANTIZE ops; within the INT8 bound on Set5."""
    from ai_edge_litert.interpreter import Interpreter

    from edgesr.backends import LOSS_BOUND_DB

    m = read_manifest(uint8_io)
    assert m.io == "uint8"
    for spec in (m.input, m.output):
        assert spec.dtype == "uint8" and spec.layout == "NHWC"
        assert spec.quantization[0] == pytest.approx(1 / 255, rel=1e-6) and spec.quantization[1] == 0
    it = Interpreter(model_path=str(uint8_io))
    assert it.get_input_details()[0]["dtype"] == it.get_output_details()[0]["dtype"] == np.uint8
    assert m.check["dpsnr"] >= -LOSS_BOUND_DB["int8"]
    ops = [op["op_name"] for op in it._get_ops_details()]
    assert ops[0] == ops[-1] == "QUANTIZE"


@pytest.mark.slow
def test_uint8_io_runs_pixels_straight_through(uint8_io, photo):
    """Fed the pixels themselves, the artifact gives pixels: the runner's boundary conversion is
    the identity for uint8 I/O (round(x * 255) of pixel / 255)."""
    from ai_edge_litert.interpreter import Interpreter

    crop = photo[:32, :32]
    it = Interpreter(model_path=str(uint8_io))
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], np.ascontiguousarray(crop[None]))
    it.invoke()
    direct = it.get_tensor(it.get_output_details()[0]["index"])[0]
    with open_runner(uint8_io) as runner:
        out = runner.run(crop.transpose(2, 0, 1)[None].astype(np.float32) / 255)
    assert direct.shape == (128, 128, 3)
    assert np.array_equal(np.round(out[0].transpose(1, 2, 0) * 255), direct)


def test_uint8_io_is_for_int8_only():
    from edgesr.errors import ExportError
    from edgesr.export.tflite import check_io

    with pytest.raises(ExportError, match=r"--io uint8 .* is for full-integer INT8 \(-p int8\); -p fp16"):
        check_io("uint8", "fp16")
    check_io("uint8", "int8")
    check_io("tensor", "fp32")

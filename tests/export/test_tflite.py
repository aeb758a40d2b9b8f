import numpy as np
import pytest
import torch

from edgesr.formats.registry import open_runner
from edgesr.manifest import read_manifest, torch_psnr
from edgesr.models.weights import load_model

pytest.importorskip("litert_torch", reason="the tflite extra is not installed: pip install 'edgesr[tflite]'")


def test_manifest_says_nhwc_fixed_and_int8_io(tflite_artifacts):
    fp32 = read_manifest(tflite_artifacts["espcn-fp32"])
    assert (fp32.input.layout, fp32.input.dtype, fp32.input.height, fp32.input.width) == ("NHWC", "float32", 24, 24)
    assert (fp32.output.height, fp32.output.width, fp32.output.channels) == (48, 48, 1)
    int8 = read_manifest(tflite_artifacts["espcn-int8"])
    assert int8.input.dtype == int8.output.dtype == "int8"
    scale, zero = int8.input.quantization
    assert 0 < scale < 0.01 and -128 <= zero <= 127
    assert torch_psnr(fp32.check) > 60 and torch_psnr(int8.check) > 30


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

    from edgesr.formats.tflite.export import _min_max_ranges

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
    from edgesr.conversion.api import export_model

    return export_model("masrn", 4, "tflite", tmp_path_factory.mktemp("uint8"), precision="int8", io="uint8",
                        lr_size=(32, 32), calib_images=8, data_root=str(data_root))


@pytest.mark.slow
def test_uint8_io_takes_and_gives_pixels(uint8_io):
    """uint8 NHWC in and out, the value being the pixel (scale 1/255, zero point 0), requantized to
    and from the int8 graph by QUANTIZE ops; within the INT8 bound on Set5."""
    from ai_edge_litert.interpreter import Interpreter

    from edgesr.formats import LOSS_BOUND_DB

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
    from edgesr.formats.tflite.export import check_io

    with pytest.raises(ExportError, match=r"--io uint8 .* is for full-integer INT8 \(-p int8\); -p fp16"):
        check_io("uint8", "fp16")
    check_io("uint8", "int8")
    check_io("tensor", "fp32")


# --- graphs that accelerators take whole: DEPTH_TO_SPACE, NHWC, rank <= 4 ---------------------------

@pytest.mark.parametrize("name, channels, scales", [("masrn", 3, (2, 3, 4)), ("fsrcnn", 1, (4,)), ("espcn", 3, (3,))])
def test_export_networks_compute_what_pytorch_does(name, channels, scales):
    """The export-only networks (conv outputs in DEPTH_TO_SPACE order, masrn's repeated input as a
    fixed 1x1 conv, fsrcnn's deconvolution as a conv and a DEPTH_TO_SPACE) give PyTorch's output,
    and leave the model's weights as they were."""
    from edgesr.formats.tflite.nhwc import litert_networks
    from edgesr.models import create_model

    torch.manual_seed(0)
    kw = {} if name == "masrn" else {"scale": scales[0], "channels": channels}
    model = create_model(name, **kw).eval()
    if name == "fsrcnn":
        torch.nn.init.normal_(model.deconv.weight, std=0.05)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.rand(1, channels, 10, 12)
    nets = litert_networks(model, scales)
    with torch.no_grad():
        for s in scales:
            ref = model(x, s) if name == "masrn" else model(x)
            torch.testing.assert_close(nets[s](x), ref, atol=1e-5, rtol=0)
    assert model.state_dict().keys() == before.keys()
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_depth_to_space_order_is_tensorflows():
    """DEPTH_TO_SPACE channel (i*r + j)*C + c holds PyTorch's pixel-shuffle channel c*r*r + i*r + j."""
    from edgesr.formats.tflite.nhwc import dcr_order, residual_order

    assert dcr_order(1, 2).tolist() == [0, 1, 2, 3]
    assert dcr_order(3, 2).tolist() == [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]
    # masrn's nearest-neighbour residual: every DEPTH_TO_SPACE block is the input's channels in order
    assert residual_order(3, 2).tolist() == [0, 1, 2] * 4
    assert residual_order(3, 2, "mosaic").tolist() == [0, 1, 2, 1, 2, 0, 2, 0, 1, 0, 1, 2]  # masrn_v1's


@pytest.fixture(scope="module")
def graphs(tmp_path_factory, data_root):
    """masrn x4 FP32 and fsrcnn x4 FP32 and INT8 (shipped weights, 32x32), unchecked: the tests read
    their op lists and run them against PyTorch themselves."""
    from edgesr.conversion.api import export_model

    out, root = tmp_path_factory.mktemp("graphs"), str(data_root)
    return {"masrn-fp32": export_model("masrn", 4, "tflite", out, lr_size=(32, 32), check=False, data_root=root),
            "fsrcnn-fp32": export_model("fsrcnn", 4, "tflite", out, lr_size=(32, 32), check=False, data_root=root),
            "fsrcnn-int8": export_model("fsrcnn", 4, "tflite", out, precision="int8", lr_size=(32, 32),
                                        calib_images=4, check=False, data_root=root)}


def _clean(path):
    """The artifact's census (read afresh; the manifest must say the same), asserted transpose-free,
    rank <= 4 and with nothing left to the CPU by the GPU delegate's rules."""
    from edgesr.formats.census import census

    c = census(path, "tflite")
    assert read_manifest(path).ops == c
    assert "TRANSPOSE" not in c["ops"] and c["max_rank"] == 4 and not c["above_rank4"] and not c["cpu_fallback"]
    return c["ops"]


@pytest.mark.slow
def test_masrn_fp32_is_depth_to_space_and_pytorchs_numbers(graphs):
    ops = _clean(graphs["masrn-fp32"])
    assert ops["DEPTH_TO_SPACE"] == 2 and set(ops) == {"ADD", "CONCATENATION", "CONV_2D", "DEPTH_TO_SPACE"}
    model = load_model("masrn", 4)
    x = np.random.default_rng(0).random((1, 3, 32, 32), dtype=np.float32)
    with torch.no_grad(), open_runner(graphs["masrn-fp32"]) as runner:
        np.testing.assert_allclose(runner.run(x), model(torch.from_numpy(x), 4).numpy(), atol=1e-4)


@pytest.mark.slow
def test_masrn_int8_is_transpose_free(uint8_io):
    """Every activation of masrn's INT8 is 8-bit, so both shuffles (the Upscale head's and the image
    residual's) are DEPTH_TO_SPACE, as in FP32."""
    ops = _clean(uint8_io)
    assert ops["DEPTH_TO_SPACE"] == 2 and "SPLIT" not in ops and "BROADCAST_TO" not in ops
    # every op computes in int8 (XNNPACK's kernels: no 16-bit reference kernel, no float island), and
    # nothing is requantized but the uint8 image in and out (a concatenation's inputs share its grid)
    census = read_manifest(uint8_io).ops
    assert census["not_int8"] == [] and ops.get("QUANTIZE") == 2, census


@pytest.mark.slow
def test_fsrcnn_deconvolution_is_a_conv_and_depth_to_space(graphs):
    for key in ("fsrcnn-fp32", "fsrcnn-int8"):
        ops = _clean(graphs[key])
        assert ops["DEPTH_TO_SPACE"] == 1 and "TRANSPOSE_CONV" not in ops
        assert ops["PRELU"] == 7 and not {"RELU", "MUL", "SUB", "DEQUANTIZE"} & set(ops)
    model = load_model("fsrcnn", 4)
    x = np.random.default_rng(0).random((1, 1, 32, 32), dtype=np.float32)
    with torch.no_grad(), open_runner(graphs["fsrcnn-fp32"]) as runner:
        np.testing.assert_allclose(runner.run(x), model(torch.from_numpy(x)).numpy(), atol=1e-4)

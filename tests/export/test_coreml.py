"""Core ML: conversion, the package's spec, op list and weight compression are checked here;
predicting needs macOS (marked coreml_runtime)."""

import sys

import numpy as np
import pytest
import torch

from edgesr.errors import ArtifactError
from edgesr.conversion.api import export_model
from edgesr.formats.registry import open_runner
from edgesr.manifest import artifact_bytes, read_manifest
from edgesr.models.weights import load_model

pytest.importorskip("coremltools", reason="the coreml extra is not installed: pip install 'edgesr[coreml]'")
macos = pytest.mark.skipif(sys.platform != "darwin", reason="Core ML models predict only on macOS")


@pytest.fixture(scope="module")
def packages(tmp_path_factory, weights, data_root):
    out, w, root = tmp_path_factory.mktemp("coreml"), weights["masrn"], str(data_root)
    return {p: export_model("masrn", 4, "coreml", out, precision=p, weights=w, lr_size=(32, 32), data_root=root)
            for p in ("fp16", "int8", "w8a8", "palette6")} | {
        "shared": export_model("masrn", (2, 3, 4), "coreml", out, precision="fp16", weights=w,
                               lr_size=[(32, 32), (64, 64)], data_root=root),
        "x2": export_model("masrn", 2, "coreml", out, precision="fp16", weights=w, lr_size=[(32, 32), (64, 64)],
                           data_root=root)}


@pytest.mark.slow
def test_spec_inputs_outputs_and_pixel_shuffle_place(packages):
    from edgesr.formats.coreml.export import describe
    d = describe(packages["fp16"])
    main = d["functions"]["main"]
    assert main["inputs"] == {"input": {"shape": [1, 3, 32, 32], "dtype": "FLOAT32", "shapes": [[1, 3, 32, 32]]}}
    assert main["outputs"]["output"]["shape"] == [1, 3, 128, 128]
    assert main["outputs"]["output"]["dtype"] == "FLOAT32"
    ops = main["ops"]
    # the Upscale head (a conv) feeds a pixel shuffle, and the Refine convs come after it
    first = ops.index("pixel_shuffle")
    assert ops[first - 1] == "conv" and "conv" in ops[first + 1:]
    assert ops.count("pixel_shuffle") == 1  # the head; the image residual is a nearest-neighbour upsampling
    assert ops.count("upsample_nearest_neighbor") == 1
    assert d["compressed_weight_ops"] == []


@pytest.mark.parametrize("precision", ["int8", "w8a8", "palette6"])
@pytest.mark.slow
def test_weight_compression(packages, precision):
    from edgesr.formats.coreml.export import COMPRESSED_OPS, describe
    d = describe(packages[precision])
    assert set(d["compressed_weight_ops"]) & set(COMPRESSED_OPS[precision])
    assert artifact_bytes(packages[precision]) < 0.65 * artifact_bytes(packages["fp16"])


@pytest.mark.slow
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
@pytest.mark.slow
def test_runner_refuses_off_macos(packages):
    with pytest.raises(ArtifactError, match="only on macOS"):
        with open_runner(packages["fp16"]):
            pass


@pytest.mark.coreml_runtime
@macos
@pytest.mark.slow
def test_predictions_match_pytorch(packages, weights):
    x = np.random.default_rng(0).random((1, 3, 32, 32), dtype=np.float32)
    for key, scale in (("fp16", 4), ("shared", 3)):
        with torch.no_grad():
            ref = load_model("masrn", scale, weights["masrn"])(torch.from_numpy(x), scale).numpy()
        with open_runner(packages[key], scale) as runner:
            np.testing.assert_allclose(runner.run(x), ref, atol=2e-2)


def _after_upscale(ops: list[str]) -> list[str]:
    return ops[ops.index("pixel_shuffle"):]


@pytest.mark.slow
def test_w8a8_quantizes_activations_everywhere(packages):
    """masrn declares no 16-bit parts: W8A8 rounds the Upscale head and the Refine stage too."""
    from edgesr.formats.coreml.export import describe
    d = describe(packages["w8a8"])
    assert d["specification_version"] >= 8  # iOS 17: activation quantization
    ops = d["functions"]["main"]["ops"]
    assert ops.count("quantize") >= 10 and ops.count("dequantize") >= ops.count("quantize")
    assert "quantize" in _after_upscale(ops)
    manifest = read_manifest(packages["w8a8"])
    assert manifest.int16_modules == ()
    assert "symmetric" in manifest.quantization and "float16 in Core ML" not in manifest.quantization
    assert "skipped" in manifest.check  # no Core ML runtime off macOS


@pytest.fixture(scope="module")
def w8a8_network(weights, data_root):
    """The W8A8 network of masrn x4 as the exporter builds it, with its rounding plan."""
    from edgesr.data.calibration import calibration_images, calibration_inputs
    from edgesr.formats.coreml.export import _activations, _convert
    from edgesr.models.scale import network_for_scale

    model = load_model("masrn", 4, weights["masrn"])
    net = network_for_scale(model, 4)
    calibration = calibration_inputs(model, 4, "T91", 4, (32, 32), str(data_root))
    ranges = calibration_images(model, 4, "T91", 4, str(data_root))
    acts = _activations(model, 4, net, [(32, 32), (40, 40)], calibration, ranges, False)
    _convert(net, 3, [(32, 32), (40, 40)], "w8a8", "iOS16", acts)
    return model, net, acts, calibration


@pytest.mark.slow
def test_w8a8_rounds_with_edgesr_ranges(w8a8_network):
    _, _, acts, _ = w8a8_network
    user_input = acts.program.graph_signature.user_inputs[0]
    # the image input is read in float16 (symmetric int8 would give [0, 1] 127 steps)
    assert user_input in acts.floats and not any(user_input in reads for reads in acts.plan.values())
    # every rounding uses the tensor's edgesr range made symmetric (float16 scale), or, for a concat's
    # inputs, the range they share (wider)
    exact = 0
    for reads in acts.plan.values():
        for name, pairs in reads.items():
            lo, hi, bits = acts.ranges[name]
            assert bits == 8 and name not in acts.floats
            (scale, zero), *_ = pairs
            own = max(abs(lo), abs(hi))
            assert zero == 0 and scale * 127 >= own * (1 - 2e-3), name
            exact += abs(scale * 127 - own) <= 2e-3 * own
    assert exact >= 10


@pytest.mark.slow
def test_w8a8_emulation_is_close_to_pytorch_and_rounds(w8a8_network):
    from edgesr.formats.coreml.export import emulate
    _, net, acts, calibration = w8a8_network
    x = torch.as_tensor(calibration[0])
    with torch.no_grad():
        ref = net(x)
    out = emulate(acts)(x)
    diff = float((out - ref).abs().mean()) * 255
    assert 0.01 < diff < 3.0, diff  # rounded, and not far from the float network
    y = torch.rand(1, 3, 40, 40)  # the other enumerated size runs too
    assert emulate(acts)(y).shape == (1, 3, 160, 160)


def test_pure_int8_is_for_the_int8_activation_precision(tmp_path, weights):
    from edgesr.errors import ExportError
    with pytest.raises(ExportError, match=r"-p w8a8"):
        export_model("masrn", 4, "coreml", tmp_path, precision="int8", weights=weights["masrn"],
                     lr_size=(32, 32), pure_int8=True)
    assert not list(tmp_path.iterdir())


@pytest.mark.coreml_runtime
@macos
@pytest.mark.slow
def test_w8a8_predictions_match_the_emulation(packages, w8a8_network):
    from edgesr.formats.coreml.export import emulate
    _, _, acts, calibration = w8a8_network
    x = calibration[0]
    with open_runner(packages["w8a8"], 4) as runner:
        got = runner.run(x)
    want = emulate(acts)(torch.as_tensor(x)).numpy()
    assert float(np.abs(got - want).mean()) * 255 < 1.0  # float16 compute between the pairs


# image I/O (--io image): what Vision's VNCoreMLRequest and Xcode's preview take and give

def test_image_io_wrapper_gives_clamped_pixels():
    from edgesr.formats.coreml.export import ImageIO
    x = torch.tensor([[[[-0.1, 0.0, 0.5, 0.70001, 1.2]]]]).expand(1, 3, 1, 5)
    assert ImageIO(torch.nn.Identity(), 3)(x)[0, 0, 0].tolist() == [0.0, 0.0, 128.0, 179.0, 255.0]  # rounded: 8 bits
    y = ImageIO(torch.nn.Identity(), 1)(x[:, :1])[0, 0, 0]
    assert y.tolist() == pytest.approx([0.0, 0.0, 127.5, 178.5025, 255.0])  # float16 grayscale: not rounded


def test_image_io_is_refused_in_one_line_where_it_cannot_be(tmp_path, weights):
    from edgesr.errors import ExportError
    from edgesr.formats.coreml.export import _check_io
    with pytest.raises(ExportError, match="1-channel .* or 3-channel"):
        _check_io("image", 2)
    with pytest.raises(ExportError, match="coreml takes --io tensor or image, not 'uint8'"):
        _check_io("uint8", 3)
    with pytest.raises(ExportError, match="onnx artifacts take --io tensor, not 'image'; --io image is for coreml"):
        export_model("masrn", 4, "onnx", tmp_path, weights=weights["masrn"], io="image")
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def image_packages(tmp_path_factory, weights, data_root):
    """masrn x4 (RGB) and asym_vdsr x2 (Y, the shipped weights) with image I/O and two enumerated
    sizes; checked against PyTorch on Set5 where Core ML runs (macOS)."""
    out, root = tmp_path_factory.mktemp("coreml_image"), str(data_root)
    return {"rgb": export_model("masrn", 4, "coreml", out, precision="fp16", weights=weights["masrn"],
                                lr_size=[(32, 32), (48, 48)], io="image", data_root=root),
            "y": export_model("asym_vdsr", 2, "coreml", out, precision="fp16", lr_size=[(32, 32), (48, 48)],
                              io="image", data_root=root)}


@pytest.mark.slow
@pytest.mark.parametrize("kind, space, channels, sizes", [("rgb", "RGB", 3, [(32, 32), (48, 48)]),
                                                          ("y", "GRAYSCALE_FLOAT16", 1, [(64, 64), (96, 96)])])
def test_image_io_spec_shows_image_input_and_output(image_packages, kind, space, channels, sizes):
    import coremltools as ct
    from edgesr.formats.coreml.export import describe
    spec = ct.utils.load_spec(str(image_packages[kind]))
    assert spec.specificationVersion >= 7  # iOS 16 / macOS 13: 16-bit float grayscale images
    (inp,), (out,) = spec.description.input, spec.description.output
    spaces = ct.proto.FeatureTypes_pb2.ImageFeatureType.ColorSpace
    for feature in (inp, out):
        assert feature.type.WhichOneof("Type") == "imageType"
        assert spaces.Name(feature.type.imageType.colorSpace) == space
    assert [(s.height, s.width) for s in inp.type.imageType.enumeratedSizes.sizes] == sizes
    main = describe(image_packages[kind])["functions"]["main"]
    assert main["inputs"]["input"]["image"] == main["outputs"]["output"]["image"] == space
    ops = main["ops"]
    assert ops[0] == "mul"  # the input's /255 (the ImageType's scale)
    # the network's output * 255, rounded for 8-bit RGB, clamped to 0-255 (RGB: then cast to float32)
    assert ops[-4:] == ["mul", "round", "clip", "cast"] if kind == "rgb" else ops[-2:] == ["mul", "clip"]
    manifest = read_manifest(image_packages[kind])
    assert manifest.io == "image" and manifest.input.layout == manifest.output.layout == "image"
    assert manifest.input.dtype == ("uint8" if kind == "rgb" else "float16")
    assert manifest.input.value_range == manifest.output.value_range == (0.0, 255.0)
    assert manifest.input.sizes == tuple(sizes) and manifest.check["package"]["functions"]["main"]["inputs"]


@pytest.mark.coreml_runtime
@macos
@pytest.mark.slow
def test_image_io_predictions_match_pytorch(image_packages, weights):
    """The runner feeds PIL images and reads them back; the model's output is PyTorch's, clamped."""
    from edgesr.models.scale import network_for_scale
    rng = np.random.default_rng(0)
    for kind, name, scale, w, channels, size in (("rgb", "masrn", 4, weights["masrn"], 3, 32),
                                                 ("y", "asym_vdsr", 2, None, 1, 64)):
        x = rng.random((1, channels, size, size), dtype=np.float32)
        x = np.round(x * 255) / 255 if channels == 3 else x  # what an 8-bit RGB image holds
        with torch.no_grad():
            ref = network_for_scale(load_model(name, scale, w), scale)(torch.from_numpy(x)).clamp(0, 1).numpy()
        with open_runner(image_packages[kind], scale) as runner:
            np.testing.assert_allclose(runner.run(x), ref, atol=2e-2)

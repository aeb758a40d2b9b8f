import json
import pytest
pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: pip install 'edgesr[onnx]'")
import shutil

import numpy as np
import pytest

from edgesr.errors import ArtifactError, ExportError, ScaleError
from edgesr.conversion.api import export_model
from edgesr.formats.registry import artifact_manifest, open_runner
from edgesr.inference import torch_upscaler, upscale
from edgesr.manifest import manifest_path, read_manifest, torch_psnr
from edgesr.models.weights import load_model


def test_manifest_contract(artifacts):
    m = read_manifest(artifacts["espcn-fp32"])
    assert (m.model, m.scales, m.format, m.precision, m.colour, m.upsampling) == ("espcn", (2,), "onnx", "fp32", "y", "post")
    assert (m.input.layout, m.input.dtype, m.input.channels, m.input.height) == ("NCHW", "float32", 1, None)
    assert m.check["dataset"] == "Set5" and torch_psnr(m.check) > 60
    assert len(m.artifact_sha256) == 64 and m.weights_sha256 and "onnxruntime" in m.tools
    fixed = read_manifest(artifacts["masrn-fp32-fixed"])
    assert (fixed.input.height, fixed.input.width, fixed.output.height, fixed.output.width) == (32, 32, 96, 96)


def test_fp32_matches_pytorch_rgb_pixel_shuffle(artifacts, weights, photo):
    """C = 3 output through DepthToSpace: a wrong channel order would show here."""
    lr = photo[:32, :32]
    ref = torch_upscaler(load_model("masrn", 3, weights["masrn"]))(lr, 3)
    with open_runner(artifacts["masrn-fp32-fixed"]) as runner:
        out = upscale(runner, lr)
        x = np.random.default_rng(0).random((1, 3, 32, 32), dtype=np.float32)
        import torch
        model = load_model("masrn", 3, weights["masrn"])
        with torch.no_grad():
            expected = model(torch.from_numpy(x), 3).numpy()
        np.testing.assert_allclose(runner.run(x), expected, atol=1e-4)
    assert np.abs(out.image.astype(int) - ref.image).max() <= 1


def test_fixed_shape_artifact_tiles_any_size(artifacts, weights, photo):
    """A 32x32 artifact on a 48x60 image: tiled with the receptive field as overlap, the result
    equals PyTorch's full-frame output to float error."""
    import torch
    manifest = read_manifest(artifacts["masrn-fp32-fixed"])
    assert manifest.receptive_radius == 10  # 9 LR pixels of trunk, 3 HR pixels of Refine = 1 LR pixel at x3
    model = load_model("masrn", 3, weights["masrn"])
    x = np.random.default_rng(1).random((1, 3, 48, 60), dtype=np.float32)
    with torch.no_grad():
        full = model(torch.from_numpy(x), 3).numpy()
    with open_runner(artifacts["masrn-fp32-fixed"]) as runner:
        np.testing.assert_allclose(runner.run(x), full, atol=1e-4)
        assert upscale(runner, photo).image.shape == (144, 180, 3)


def test_dynamic_sizes_and_int8(artifacts, photo):
    with open_runner(artifacts["espcn-fp32"]) as fp32, open_runner(artifacts["espcn-int8"]) as int8:
        for h, w in ((16, 20), (23, 17)):
            a, b = upscale(fp32, photo[:h, :w]), upscale(int8, photo[:h, :w])
            assert a.shape == b.shape == (2 * h, 2 * w, 3)
            assert np.abs(a.y - b.y).mean() < 3
    assert torch_psnr(read_manifest(artifacts["espcn-int8"]).check) > 30


def test_tampered_and_mismatched_artifacts(artifacts, tmp_path):
    src = artifacts["espcn-fp32"]
    copy = tmp_path / src.name
    shutil.copy(src, copy)
    with pytest.raises(ArtifactError, match="manifest .* is missing"):
        read_manifest(copy)
    shutil.copy(manifest_path(src), manifest_path(copy))
    assert read_manifest(copy).model == "espcn"
    with open(copy, "ab") as f:
        f.write(b"\0")
    with pytest.raises(ArtifactError, match="sha256 differs"):
        read_manifest(copy)
    renamed = tmp_path / "model.tflite"
    shutil.copy(src, renamed)
    shutil.copy(manifest_path(src), manifest_path(renamed))
    read_manifest(renamed)  # the manifest itself is whole; its format's suffix is the format's check
    for read in (artifact_manifest, open_runner):
        with pytest.raises(ArtifactError, match="must end in .onnx"):
            read(renamed)
    with pytest.raises(ScaleError, match="serves x2, not x4"):
        open_runner(src, 4)
    bad = json.loads(manifest_path(src).read_text())
    del bad["input"]
    manifest_path(copy).write_text(json.dumps(bad))
    with pytest.raises(ArtifactError, match="not a valid edgesr manifest"):
        read_manifest(copy)


def test_refused_options(tmp_path, weights):
    with pytest.raises(ExportError, match="unknown format 'pt'; known formats: onnx"):
        export_model("espcn", 2, "pt", tmp_path)
    with pytest.raises(ExportError, match="does not take precision 'int4'; it takes fp32, fp16, int8"):
        export_model("espcn", 2, "onnx", tmp_path, precision="int4")
    with pytest.raises(ScaleError):
        export_model("espcn", 5, "onnx", tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_fp16_keeps_float32_io(tmp_path, weights, data_root):
    import onnx
    artifact = export_model("espcn", 2, "onnx", tmp_path, precision="fp16", weights=weights["espcn"],
                            data_root=str(data_root))
    m = read_manifest(artifact)
    assert m.input.dtype == "float32" and torch_psnr(m.check) > 50
    graph = onnx.load(str(artifact)).graph
    assert any(init.data_type == onnx.TensorProto.FLOAT16 for init in graph.initializer)


def _int8_weights(artifact):
    import onnx
    from onnx import numpy_helper
    graph = onnx.load(str(artifact)).graph
    return [numpy_helper.to_array(i) for i in graph.initializer if i.data_type == onnx.TensorProto.INT8 and i.dims]


def test_int8_weights_are_the_schemes_grid(artifacts, weights):
    """uint8 activations x int8 weights: x86 kernels without VNNI (ONNX Runtime's, OpenVINO's) add
    pairs of products in saturating int16, so the scheme's weights stay within 63 steps a side
    (2 * 255 * 63 < 2**15) and every CPU computes the same integers; they are exactly the integers
    QAT trains with (``quantize_weight``), and each bias is int32 on its input's scale times its
    weight's (what ONNX Runtime's integer kernels add)."""
    import onnx
    from onnx import numpy_helper

    from edgesr.models.weights import load_model
    from edgesr.train.qat import quantize_weight

    stored = [w for w in _int8_weights(artifacts["espcn-int8"]) if w.ndim == 4]  # not the zero points
    assert stored and max(int(np.abs(w.astype(int)).max()) for w in stored) == 63
    model = load_model("espcn", 2, weights["espcn"])
    expected = [quantize_weight(p.detach().numpy())[0] for p in model.parameters() if p.dim() == 4]
    assert sorted(w.tobytes() for w in stored) == sorted(w.tobytes() for w in expected)
    graph = onnx.load(str(artifacts["espcn-int8"])).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    for conv in convs:
        x, w, b = (producer[i] for i in conv.input)
        assert inits[b.input[0]].dtype == np.int32
        np.testing.assert_allclose(inits[b.input[1]], inits[x.input[1]] * inits[w.input[1]], rtol=1e-6)
    assert len(convs) == len(expected)
    m = read_manifest(artifacts["espcn-int8"])
    assert "63-step grid" in m.quantization and m.tools["cpu"] and "cpu_int_flags" in m.tools
    assert read_manifest(artifacts["espcn-fp32"]).quantization == ""


@pytest.mark.slow
def test_export_beyond_the_loss_bound_fails_and_leaves_nothing(monkeypatch, data_root, tmp_path):
    """An artifact that scores further below PyTorch than its precision allows is not written
    (the shipped weights: a random network's PSNR does not fall with rounding)."""
    from edgesr.formats import base

    monkeypatch.setitem(base.LOSS_BOUND_DB, "int8", 0.0)  # any rounding at all is now too much
    out = tmp_path / "out"
    with pytest.raises(ExportError, match=r"beyond the int8 bound of -0.0 dB; nothing was written; try --quant qat"):
        export_model("masrn", 4, "onnx", out, precision="int8", lr_size=(16, 16), calib_images=2,
                     data_root=str(data_root), quant="ptq")
    assert list(out.iterdir()) == []


def test_manifests_are_strict_json(tmp_path, weights, data_root):
    """An exact match (infinite PSNR) is written as null, documented as identical outputs: the manifest
    is JSON that a browser's JSON.parse reads (Node here), and edgesr reads the null back as infinity."""
    import dataclasses
    import math
    import subprocess

    from edgesr.manifest import write_manifest

    artifact = export_model("espcn", 2, "onnx", tmp_path, weights=weights["espcn"], data_root=str(data_root))
    manifest = read_manifest(artifact)
    exact = {**manifest.check, "psnr_vs_torch": math.inf, "per_scale": {"x2": {"psnr_vs_torch": math.inf}}}
    write_manifest(artifact, dataclasses.replace(manifest, check=exact))
    text = manifest_path(artifact).read_text()
    assert "Infinity" not in text and '"psnr_vs_torch": null' in text
    if shutil.which("node") is None:
        pytest.skip("Node is not installed: the manifest was checked as strict JSON by Python only")
    proc = subprocess.run(["node", "-e", "const m = JSON.parse(require('fs').readFileSync(process.argv[1], 'utf8'));"
                           "console.log(m.check.psnr_vs_torch === null ? 'null' : 'number')", str(manifest_path(artifact))],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == "null", proc.stderr
    assert torch_psnr(read_manifest(artifact).check) == math.inf


def test_int8_with_two_equal_biases(tmp_path, data_root):
    """Two convs whose biases are equal (a user's model: examples/repsr.py's tail and skip biases start
    at zero and get the same gradient): the ONNX exporter merges equal initializers, the quantizer
    then numbers the quantized copies (``b0``), and the INT8 export looked each conv's float bias up
    by that name and failed (``KeyError: 'tail.bias0'``). Each conv now gets its own float weight and
    bias back, rounded onto its own input's grid."""
    import onnx
    import torch
    from onnx import numpy_helper

    import edgesr

    class Two(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.Conv2d(1, 4, 3, padding=1)
            self.c = torch.nn.Conv2d(4, 4, 1)
            with torch.no_grad():
                self.a.bias.copy_(torch.tensor([0.01, 0.02, 0.03, 0.04]))
                self.c.bias.copy_(self.a.bias)
                self.b.bias.copy_(self.a.bias)
            self.shuffle = torch.nn.PixelShuffle(2)

        def forward(self, x):
            return self.shuffle(self.c(torch.relu(self.a(x))) + self.b(x))

    torch.manual_seed(0)
    net = Two().eval()
    path = edgesr.export(net, 2, "onnx", tmp_path, precision="int8", colour="y", upsampling="post", scales=(2,),
                         calib_images=4, data_root=str(data_root), check=False)
    graph = onnx.load(str(path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    convs = {n.name: n for n in graph.node if n.op_type == "Conv"}
    assert len(convs) == 3 and len({producer[c.input[2]].input[0] for c in convs.values()}) == 3
    for conv in convs.values():
        dq = producer[conv.input[2]]
        bias = inits[dq.input[0]].astype(np.float64) * inits[dq.input[1]]
        np.testing.assert_allclose(bias, [0.01, 0.02, 0.03, 0.04], atol=inits[dq.input[1]].max())

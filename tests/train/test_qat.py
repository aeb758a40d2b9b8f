"""Quantization-aware training: the simulation computes what the INT8 artifacts compute, the
config section is checked, and the weights it saves are picked up by the exporter."""

import copy
import json

import numpy as np
import pytest
import torch

from edgesr.data.calibration import calibration_inputs
from edgesr.errors import ConfigError
from edgesr.models.weights import is_qat, load_model
from edgesr.train.config import make_config
from edgesr.train.qat import QATOptions, QuantSim, qat_options


@pytest.fixture(scope="module")
def shipped_masrn():
    return load_model("masrn")


def _sim_and_calibration(model, scale, data_root, count=8, size=(24, 24)):
    calibration = calibration_inputs(model, scale, count=count, lr_size=size, data_root=str(data_root))
    sim = QuantSim(model, (scale,), QATOptions())
    sim.set_calibration(scale, calibration)
    sim.calibrate()
    return sim.eval(), calibration


def _int16_tensors(path) -> int:
    """How many activation tensors of an INT8 artifact are 16-bit (ONNX: uint16 QuantizeLinear
    outputs; LiteRT: int16 tensors)."""
    if path.suffix == ".onnx":
        import onnx

        model = onnx.load(str(path))
        inits = {i.name: i for i in model.graph.initializer}
        return sum(1 for n in model.graph.node if n.op_type == "QuantizeLinear" and len(n.input) > 2
                   and inits[n.input[2]].data_type == onnx.TensorProto.UINT16)
    from ai_edge_litert.interpreter import Interpreter

    details = Interpreter(model_path=str(path)).get_tensor_details()
    return sum(1 for d in details if np.dtype(d["dtype"]) == np.int16)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["onnx", "tflite", "openvino", "executorch"])
def test_simulation_matches_the_int8_artifacts(fmt, shipped_masrn, data_root, tmp_path):
    """The simulated network and the exported INT8 artifact, on the same input, differ by
    rounding ties only: the simulation is what training optimises, so it must be what runs, in
    every format (one scheme: every activation 8-bit, the same weights and ranges)."""
    pytest.importorskip({"onnx": "onnxruntime", "tflite": "litert_torch", "openvino": "openvino",
                         "executorch": "executorch.runtime"}[fmt])
    from edgesr.formats import get_format
    from edgesr.formats.base import Conversion
    from edgesr.formats.registry import open_runner
    from edgesr.manifest import Manifest, Skip, sha256, write_manifest

    scale = 4
    sim, calibration = _sim_and_calibration(shipped_masrn, scale, data_root)
    out = tmp_path / f"m{get_format(fmt).suffix}"
    exported = get_format(fmt).export(shipped_masrn, out, Conversion((scale,), "int8", input_size=(24, 24),
                                                                     calibration={scale: calibration}))
    inp, outp = exported.input, exported.output
    assert {q.bits for q in sim._quants(scale)} == {8}
    if fmt in ("onnx", "tflite"):
        assert _int16_tensors(out) == 0
    write_manifest(out, Manifest(model="masrn", scales=(scale,), format=fmt, precision="int8", colour="rgb",
                                 upsampling="post", input=inp, output=outp, artifact_sha256=sha256(out),
                                 weights_sha256=None, check=Skip.NOT_ASKED.check("not asked for")))
    x = calibration_inputs(shipped_masrn, scale, count=1, lr_size=(24, 24), data_root=str(data_root), seed=5)[0]
    with torch.no_grad():
        simulated = sim(torch.from_numpy(x), scale).numpy()
        float_out = shipped_masrn(torch.from_numpy(x), scale).clamp(0, 1).numpy()
    with open_runner(out) as runner:
        artifact = np.clip(runner.run(x), 0, 1)
    def psnr(a, b):
        return 10 * np.log10(1 / np.mean((a - b) ** 2))

    # roundings that fall the other way in integer arithmetic spread through the layers, so the two
    # differ pixel by pixel; what they must share is how far from float they are
    sim_error, artifact_error = psnr(simulated, float_out), psnr(artifact, float_out)
    if fmt == "openvino":  # its CPU plugin fuses a convolution with the addition reading it (oneDNN's
        # sum post-op) and skips the rounding between them: a little closer to float than the scheme
        assert artifact_error > sim_error - 0.5, (sim_error, artifact_error)
    else:
        assert abs(sim_error - artifact_error) < 0.5, (sim_error, artifact_error)
    if fmt in ("onnx", "executorch"):  # the same roundings: closer to the simulation than to float
        assert psnr(artifact, simulated) > artifact_error


def test_options_are_checked():
    assert qat_options(None) is None
    assert qat_options({"clip": 0}).clip == 0.0
    with pytest.raises(ConfigError, match="unknown qat option.*bits"):
        qat_options({"bits": 8})
    with pytest.raises(ConfigError, match="weight_levels must be int"):
        qat_options({"weight_levels": "64"})
    with pytest.raises(ConfigError, match="activation_bits must be 8 or 16"):
        qat_options({"activation_bits": 4})
    assert qat_options({"pure_int8": True}).pure_int8 is True
    with pytest.raises(ConfigError, match="pure_int8 must be bool"):
        qat_options({"pure_int8": 1})
    with pytest.raises(ConfigError, match="unknown qat option"):  # caught when the config is read
        make_config({"model": "masrn", "qat": {"nope": 1}})


def test_int16_modules_are_rounded_to_16_bits(shipped_masrn):
    """A model that declares 16-bit parts (no shipped one does: masrn's INT8 is all 8-bit) gets every
    tensor computed there (and only there) rounded to 16 bits; the image input and output stay 8-bit."""
    import dataclasses

    assert shipped_masrn.spec.int16_modules == ()
    assert {q.bits for q in QuantSim(shipped_masrn, (2,), QATOptions())._quants(2)} == {8}
    wide_masrn = copy.deepcopy(shipped_masrn)
    wide_masrn.spec = dataclasses.replace(shipped_masrn.spec, int16_modules=("extraction.bottleneck", "upscale", "refine"))
    graph = QuantSim(wide_masrn, (2,), QATOptions()).graphs["x2"]
    bits = {n.args[0].name: graph.get_submodule(n.target).bits for n in graph.graph.nodes
            if n.op == "call_module" and n.target.startswith("act_quant")}
    wide = {name for name, b in bits.items() if b == 16}
    assert wide == {"model_extraction_bottleneck", "model_upscale_x2_0", "relu_8", "relu_9", "cat_5",
                    "model_refine_fuse", "add_4", "model_refine_tail"}, wide
    assert bits["x"] == bits["add_5"] == 8  # the image in and out
    for options in (QATOptions(pure_int8=True), QATOptions(activation_bits=16)):
        quants = QuantSim(wide_masrn, (2,), options)._quants(2)
        assert {q.bits for q in quants} == {options.activation_bits}


def test_a_concatenation_and_its_inputs_share_one_range(shipped_masrn):
    """masrn's trunk concatenates the head's and every block's output for its bottleneck: after
    calibration those five tensors and the concatenation hold one range, the union of theirs (what
    LiteRT's quantizer and OpenVINO give a concatenation's inputs), and the block outputs that the
    next block reads are on that grid too."""
    sim = QuantSim(shipped_masrn, (2,), QATOptions())
    x = torch.rand(1, 3, 20, 20)
    sim.set_calibration(2, [x])
    sim.calibrate()
    graph = sim.graphs["x2"]
    groups = [[graph.get_submodule(n) for n in g] for g in graph.tied]
    assert sorted(len(g) for g in groups) == [3, 3, 3, 3, 3, 6]  # 4 blocks and Refine (two branches + out), trunk
    for g in groups:
        assert len({(float(q.lo), float(q.hi)) for q in g}) == 1
    assert len({(float(q.lo), float(q.hi)) for q in sim._quants(2)}) > 6


def test_weights_are_written_as_the_simulation_rounds_them():
    """``quantize_weight`` (what the exporters write) gives exactly ``fake_quant_weight``'s values
    (what QAT trains with): 63 steps a side per output channel, integers within 7 bits."""
    from edgesr.train.qat import WEIGHT_LEVELS, fake_quant_weight, quantize_weight

    w = torch.randn(16, 8, 3, 3) * torch.rand(16, 1, 1, 1)
    q, scale = quantize_weight(w.numpy())
    assert q.dtype == np.int8 and np.abs(q).max() == WEIGHT_LEVELS == 63
    assert np.array_equal(q.astype(np.float32) * scale[:, None, None, None], fake_quant_weight(w).numpy())


def test_simulation_shares_the_model_parameters(shipped_masrn):
    sim = QuantSim(shipped_masrn, (2, 4), QATOptions())
    own = {id(p) for p in shipped_masrn.parameters()}
    assert {id(p) for p in sim.parameters()} <= own
    # rounding is active: the simulated output differs from the float one, by little
    x = torch.rand(1, 3, 12, 12)
    sim.set_calibration(4, [x])
    sim.set_calibration(2, [x])
    sim.calibrate()
    with torch.no_grad():
        a, b = sim(x, 4), shipped_masrn(x, 4).clamp(0, 1)  # the output is rounded on [0, 1]
    assert 0 < (a - b).abs().mean() < 0.01


@pytest.mark.slow
def test_training_saves_weights_the_exporter_takes_as_qat(tmp_path, data_root):
    """Two QAT iterations from the shipped weights; the saved file says it is QAT, and export's
    auto mode records it."""
    from edgesr.conversion.api import export_model
    from edgesr.manifest import read_manifest
    from edgesr.models.weights import shipped_weights
    from edgesr.train.trainer import train

    cfg = make_config({"model": "masrn", "scales": [2, 3, 4], "init": str(shipped_weights("masrn")), "patch_size": 48,
                       "batch_size": 2, "iterations": 2, "val_every": 2, "checkpoint_every": 2, "ema": None, "val_set": "Set5",
                       "data_root": str(data_root), "out_dir": str(tmp_path / "run"),
                       "qat": {"calib_images": 2}})
    result = train(cfg, progress=False)
    weights = tmp_path / "run" / "last.safetensors"
    assert result.iterations == 2 and is_qat(weights) and not is_qat(shipped_weights("masrn"))
    start = json.loads((tmp_path / "run" / "log.jsonl").read_text().splitlines()[0])
    assert start["qat"]["weight_levels"] == 63
    pytest.importorskip("onnxruntime")
    art = export_model("masrn", 4, "onnx", tmp_path / "out", precision="int8", weights=weights, lr_size=(16, 16),
                       calib_images=2, data_root=str(data_root), check=False)
    assert read_manifest(art).quant_method == "qat"
    art = export_model("masrn", 4, "onnx", tmp_path / "ptq", precision="int8", weights=weights, lr_size=(16, 16),
                       calib_images=2, data_root=str(data_root), check=False, quant="ptq")
    assert read_manifest(art).quant_method == "ptq"


def test_qat_weights_are_chosen_for_int8(tmp_path, monkeypatch):
    """One QAT file per model, for every format's INT8 (one scheme); ``auto`` takes it where its
    ``int8_formats`` names the format (every format when it names none), ``qat`` everywhere."""
    import json
    import shutil

    from edgesr.conversion import api
    from edgesr.models import weights as w

    for stem, formats in (("masrn", None), ("masrn_qat", ["onnx"])):
        shutil.copyfile(w.PRETRAINED_DIR / "masrn.safetensors", tmp_path / f"{stem}.safetensors")
        if formats is not None:
            (tmp_path / f"{stem}.json").write_text(json.dumps({"int8_formats": formats}))
    shutil.copyfile(w.PRETRAINED_DIR / "asym_vdsr.safetensors", tmp_path / "asym_vdsr_qat.safetensors")
    monkeypatch.setattr(w, "PRETRAINED_DIR", tmp_path)
    assert api.choose_weights("masrn", 2, "onnx", "int8") == (tmp_path / "masrn_qat.safetensors", "qat")
    assert api.choose_weights("masrn", 2, "tflite", "int8") == (None, "ptq")
    for fmt, precision in (("tflite", "int8"), ("coreml", "w8a8"), ("tensorrt", "int8")):
        assert api.choose_weights("masrn", 2, fmt, precision, quant="qat") == (tmp_path / "masrn_qat.safetensors", "qat")
    assert api.choose_weights("asym_vdsr", 4, "openvino", "int8") == (tmp_path / "asym_vdsr_qat.safetensors", "qat")
    assert api.choose_weights("masrn", 2, "onnx", "w8a16") == (None, "ptq")  # W8A16: the float weights
    assert api.choose_weights("asym_vdsr", 4, "coreml", "w8a8")[1] == "qat"  # Core ML's INT8 scheme
    assert api.choose_weights("asym_vdsr", 4, "coreml", "int8") == (None, "ptq")  # weights only

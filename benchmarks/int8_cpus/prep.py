# host: fp32 onnx per scale, quantized variants, Set5 LR inputs and HR Y
import os, sys, numpy as np, torch
from pathlib import Path
from edgesr.data.calibration import calibration_inputs
from edgesr.data.datasets import find_images
from edgesr.data.degrade import degrade
from edgesr.data.io import read_image
from edgesr.formats.onnx.export import _to_onnx, INPUT
from edgesr.models.scale import network_for_scale
from edgesr.models.weights import load_model
import onnxruntime.quantization as quant
from onnxruntime.quantization.shape_inference import quant_pre_process
root = os.environ.get("EDGESR_DATA", "../../../shared/datasets")
model = load_model("masrn", 2)
schemes = {
 "u8s8": dict(activation_type=quant.QuantType.QUInt8, weight_type=quant.QuantType.QInt8, reduce_range=False, extra_options={"WeightSymmetric": True}),
 "u8s8_rr": dict(activation_type=quant.QuantType.QUInt8, weight_type=quant.QuantType.QInt8, reduce_range=True, extra_options={"WeightSymmetric": True}),
 "s8s8": dict(activation_type=quant.QuantType.QInt8, weight_type=quant.QuantType.QInt8, reduce_range=False, extra_options={"WeightSymmetric": True, "ActivationSymmetric": True}),
 "s8s8_asym": dict(activation_type=quant.QuantType.QInt8, weight_type=quant.QuantType.QInt8, reduce_range=False, extra_options={"WeightSymmetric": True, "ActivationSymmetric": False}),
 "u8u8": dict(activation_type=quant.QuantType.QUInt8, weight_type=quant.QuantType.QUInt8, reduce_range=False, extra_options={"WeightSymmetric": False}),
}
for s in map(int, sys.argv[1:]):
    net = network_for_scale(model, s)
    fp32 = Path(f"m{s}_fp32.onnx"); _to_onnx(net, 3, None, fp32)
    pre = Path(f"m{s}_pre.onnx"); quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    calib = calibration_inputs(model, s, "T91", 64, (64, 64), root)
    for name, kw in schemes.items():
        class R(quant.CalibrationDataReader):
            def __init__(self): self.it = iter([{INPUT: x} for x in calib])
            def get_next(self): return next(self.it, None)
        quant.quantize_static(str(pre), f"m{s}_{name}.onnx", R(), quant_format=quant.QuantFormat.QDQ, per_channel=True,
            calibrate_method=quant.CalibrationMethod.MinMax, **kw)
    ims = find_images("Set5", root)
    data = {}
    for i, p in enumerate(ims.files):
        lr, hr = degrade(read_image(p), s)
        data[f"lr{i}"] = lr; data[f"hr{i}"] = hr
        with torch.no_grad():
            data[f"pt{i}"] = net(torch.from_numpy(np.ascontiguousarray(lr.transpose(2,0,1)[None]/np.float32(255)).astype(np.float32))).numpy()
    np.savez(f"set5_x{s}.npz", **data)
print("ok")

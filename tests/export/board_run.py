"""Runs an artifact on one input on an emulated Arm board (no edgesr there, only numpy and the runtimes):
``python board_run.py ARTIFACT IN.npy OUT.npy``; NCHW float32 in and out."""
import sys
import numpy as np
path, src, dst = sys.argv[1:4]
x = np.load(src)
if path.endswith(".onnx"):
    import onnxruntime as ort
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    y = s.run(None, {s.get_inputs()[0].name: x})[0]
else:
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=path); it.allocate_tensors()
    i, o = it.get_input_details()[0], it.get_output_details()[0]
    a = x.transpose(0, 2, 3, 1)
    if i["dtype"] != np.float32:
        sc, zp = i["quantization"]; info = np.iinfo(i["dtype"])
        a = np.clip(np.round(a / sc) + zp, info.min, info.max).astype(i["dtype"])
    it.set_tensor(i["index"], a); it.invoke(); y = it.get_tensor(o["index"])
    if o["dtype"] != np.float32:
        sc, zp = o["quantization"]; y = (y.astype(np.float32) - zp) * sc
    y = y.transpose(0, 3, 1, 2)
np.save(dst, y.astype(np.float32))

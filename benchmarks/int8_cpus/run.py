# runs under any CPU (only onnxruntime + numpy): outputs of each variant on Set5
import sys, numpy as np, onnxruntime as ort
s, tag = int(sys.argv[1]), sys.argv[2]; names = sys.argv[3:]
d = np.load(f"set5_x{s}.npz"); n = len([k for k in d if k.startswith("lr")])
o = ort.SessionOptions(); o.intra_op_num_threads = 1
out = {}
for name in names:
    sess = ort.InferenceSession(f"m{s}_{name}.onnx", o, providers=["CPUExecutionProvider"])
    for i in range(n):
        lr = d[f"lr{i}"]; x = np.ascontiguousarray(lr.transpose(2,0,1)[None] / np.float32(255)).astype(np.float32)
        out[f"{name}_{i}"] = sess.run(None, {"input": x})[0]
np.savez(f"out_x{s}_{tag}.npz", **out)

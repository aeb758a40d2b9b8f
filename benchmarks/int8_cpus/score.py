import sys, numpy as np
from edgesr.data.color import to_y
from edgesr.evaluation.metrics import shave_pair, psnr_y
s = int(sys.argv[1]); tags = sys.argv[2:]
d = np.load(f"set5_x{s}.npz"); n = len([k for k in d if k.startswith("lr")])
def score(outs):
    ps = []
    for i, o in enumerate(outs):
        img = np.clip(np.round(o[0].transpose(1,2,0).astype(np.float64)*255), 0, 255).astype(np.uint8)
        a, b = shave_pair(to_y(img), to_y(d[f"hr{i}"]), s); ps.append(psnr_y(a, b))
    return np.mean(ps)
base = score([d[f"pt{i}"] for i in range(n)]); print(f"x{s} pytorch {base:.3f}")
for tag in tags:
    o = np.load(f"out_x{s}_{tag}.npz"); names = sorted({k.rsplit('_',1)[0] for k in o})
    for name in names:
        outs = [o[f"{name}_{i}"] for i in range(n)]
        diff = np.mean([np.abs(np.round(np.clip(outs[i],0,1)*255) - np.round(np.clip(d[f"pt{i}"],0,1)*255)).mean() for i in range(n)])
        print(f"x{s} {tag:6s} {name:10s} {score(outs)-base:+.3f} dB  mean|diff| {diff:.2f}")

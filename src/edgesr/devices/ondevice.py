"""edgesr's on-device runner: one self-contained file that needs only numpy and a runtime.

A transport copies this file to the device beside the artifact, its manifest, the network inputs
(``.npy``, already in the artifact's own layout and dtype) and ``job.json``, then runs
``python ondevice.py job.json`` in that folder. It checks the artifact against the manifest's
SHA-256, loads it (timed apart from inference), times the network calls of one LR frame (warm-up,
then runs until both a minimum count and a minimum time are reached), reads its own peak RSS, runs
every recorded call and saves each raw output (``.npy``), and writes ``result.json``. Everything
else (pre- and post-processing, tiling, scoring) happens on the host, from these outputs.

Runtimes: LiteRT through ``ai_edge_litert``, else the older ``tflite_runtime`` many boards carry,
else ``tensorflow.lite``; ONNX through ``onnxruntime``. ``python ondevice.py --probe`` prints which
of them the device has. Do not import edgesr (or anything beyond the standard library, numpy and
the runtimes) here: this file runs where edgesr is not installed.
"""

import hashlib
import json
import os
import platform
import statistics
import sys
import time

import numpy as np


# what to install on the device for each format (the host's bench table quotes these too)
INSTALL = {"tflite": "pip install ai-edge-litert (or tflite-runtime, on boards whose Python it supports)",
           "onnx": "pip install onnxruntime"}


def peak_rss_mb():
    """This process's high-water RSS in MB (Linux and Android: VmHWM), or None where unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    try:
        import resource

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024
    except (ImportError, OSError):
        return None


def tflite_interpreter(prefer="auto"):
    """(Interpreter class, "module version") of the first TFLite interpreter found, or of ``prefer``."""
    candidates = ("ai_edge_litert", "tflite_runtime", "tensorflow")
    if prefer != "auto":
        if prefer not in candidates:
            raise RuntimeError("unknown TFLite runtime %r; one of %s" % (prefer, ", ".join(candidates)))
        candidates = (prefer,)
    for name in candidates:
        try:
            if name == "tensorflow":
                import tensorflow as module

                cls = module.lite.Interpreter
            else:
                module = __import__(name + ".interpreter", fromlist=["Interpreter"])
                cls = module.Interpreter
                module = sys.modules[name]
        except ImportError:
            continue
        return cls, "%s %s" % (name, getattr(module, "__version__", "?"))
    raise RuntimeError("no TFLite interpreter on this device: " + INSTALL["tflite"])


class TFLite:
    def __init__(self, path, threads, prefer="auto"):
        cls, self.runtime = tflite_interpreter(prefer)
        self.interpreter = cls(model_path=path, num_threads=threads)
        self.signatures = {}
        self.plain = None

    def prepare(self, entry):
        if entry and entry not in self.signatures:
            self.signatures[entry] = self.interpreter.get_signature_runner(entry)
        elif not entry and self.plain is None:
            self.interpreter.allocate_tensors()
            self.plain = (self.interpreter.get_input_details()[0]["index"],
                          self.interpreter.get_output_details()[0]["index"])

    def call(self, entry, feeds, output):
        try:
            self.prepare(entry)
            if entry:
                return self.signatures[entry](**feeds)[output]
            self.interpreter.set_tensor(self.plain[0], next(iter(feeds.values())))
            self.interpreter.invoke()
            return self.interpreter.get_tensor(self.plain[1])
        except RuntimeError as exc:
            if "failed to prepare" not in str(exc):
                raise
            # older TFLite runtimes (tflite-runtime 2.14) cannot requantize int8 to int16
            raise RuntimeError("%s cannot run this artifact (%s); an INT8 artifact with 16-bit parts needs a "
                               "runtime whose QUANTIZE turns int8 into int16 (ai-edge-litert): export it with "
                               "--pure-int8 for this one" % (self.runtime, str(exc).strip().splitlines()[-1])) from None


class OnnxRuntime:
    def __init__(self, path, threads, prefer="auto"):
        try:
            import onnxruntime as ort
        except ImportError:
            raise RuntimeError("no ONNX Runtime on this device: " + INSTALL["onnx"]) from None
        self.runtime = "onnxruntime %s" % ort.__version__
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def prepare(self, entry):
        pass

    def call(self, entry, feeds, output):
        return self.session.run([output], feeds)[0]


RUNTIMES = {"tflite": TFLite, "onnx": OnnxRuntime}


# CPU flags that change which integer kernels a runtime picks (and so what an INT8 model computes):
# x86 without VNNI adds u8 x s8 products in pairs with 16-bit saturation; Arm's dot-product
# instructions and x86's VNNI/AMX accumulate in 32 bits
INTEGER_KERNEL_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8", "neon", "asimd", "asimddp", "i8mm",
                        "sve")


def cpu_info():
    """The CPU's model and the flags in ``INTEGER_KERNEL_FLAGS`` it has, from /proc/cpuinfo
    (Linux and Android); elsewhere the platform's processor string."""
    models, flags = [], set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip().lower()
                if key in ("model name", "hardware", "cpu model") and value.strip():
                    models.append(value.strip())
                elif key in ("flags", "features"):
                    flags.update(value.split())
    except OSError:
        pass
    model = models[0] if models else platform.processor() or platform.machine()
    return {"model": model, "machine": platform.machine(),
            "int_flags": [f for f in INTEGER_KERNEL_FLAGS if f in flags]}


def probe():
    """What this device offers: Python, machine, CPU, numpy and each runtime found (None where absent)."""
    found = {"python": platform.python_version(), "machine": platform.machine(), "numpy": np.__version__,
             "cpus": os.cpu_count(), "cpu": cpu_info()}
    try:
        found["tflite"] = tflite_interpreter()[1]
    except RuntimeError:
        found["tflite"] = None
    try:
        import onnxruntime

        found["onnx"] = "onnxruntime %s" % onnxruntime.__version__
    except ImportError:
        found["onnx"] = None
    return found


def time_runs(step, warmup=2, min_runs=5, min_seconds=2.0):
    """Call ``step`` ``warmup`` times, then time it until both ``min_runs`` runs and ``min_seconds``
    have passed; median and p90 in ms."""
    for _ in range(warmup):
        step()
    times = []
    begin = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - begin < min_seconds:
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1000)
    ordered = sorted(times)
    return {"runs": len(times), "latency_ms": statistics.median(times),
            "p90_ms": ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]}


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load(call):
    return {name: np.load(path) for name, path in call["inputs"].items()}


def run(job):
    manifest = json.load(open(job["manifest"]))
    if _sha256(job["artifact"]) != manifest["artifact_sha256"]:
        raise RuntimeError("%s does not match the SHA-256 in %s (a partial copy?); run the bench again"
                           % (job["artifact"], job["manifest"]))
    threads = job.get("threads") or os.cpu_count() or 1
    frame = [(c["entry"], _load(c), c["output"]) for c in job["frame"]]
    start = time.perf_counter()
    net = RUNTIMES[job["format"]](job["artifact"], threads, job.get("runtime", "auto"))
    for entry in sorted({c[0] for c in frame}):
        net.prepare(entry)
    load_ms = (time.perf_counter() - start) * 1000

    def step():
        for call in frame:
            net.call(*call)

    timed = time_runs(step, job.get("warmup", 2), job.get("min_runs", 5), job.get("min_seconds", 2.0))
    result = {"ok": True, "load_ms": load_ms, **timed, "peak_rss_mb": peak_rss_mb(), "runtime": net.runtime,
              "threads": threads,
              "python": platform.python_version(), "machine": platform.machine()}
    os.makedirs(job["outputs"], exist_ok=True)
    for i, call in enumerate(job["calls"]):
        out = net.call(call["entry"], _load(call), call["output"])
        np.save(os.path.join(job["outputs"], "%05d.npy" % i), np.asarray(out))
    return result


def main(argv):
    if argv[:1] == ["--probe"]:
        print(json.dumps(probe()))
        return 0
    if len(argv) != 1:
        print("usage: python ondevice.py JOB.json | --probe", file=sys.stderr)
        return 2
    job = json.load(open(argv[0]))
    try:
        result = run(job)
    except Exception as exc:  # the host reads the reason from result.json
        text = str(exc).splitlines()[0] if str(exc) else ""
        result = {"ok": False, "error": "%s: %s" % (type(exc).__name__, text)}
    with open(job.get("result", "result.json") + ".part", "w") as f:
        json.dump(result, f)
    os.replace(job.get("result", "result.json") + ".part", job.get("result", "result.json"))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

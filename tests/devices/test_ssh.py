"""The ssh transport against a real OpenSSH server on 127.0.0.1 (see conftest)."""

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from edgesr.devices.profiles import load_profile
from edgesr.devices.remote import probe, run_remote
from edgesr.devices.transports import open_transport
from edgesr.errors import DeviceError
from tests.devices.helpers import bench_on_device


@pytest.fixture(scope="module")
def transport(ssh_profile):
    return open_transport(load_profile(str(ssh_profile)))


def test_files_and_arguments_survive_the_remote_shell(transport, tmp_path, board_python):
    remote = transport.profile.workdir + "/it's a $(dir)"
    local = tmp_path / "up"
    local.mkdir()
    (local / "a b.txt").write_text("payload")
    transport.push(local, remote)
    words = ["a b", "it's", "$(touch pwned)", "; rm -rf /tmp/x", "`id`", "~", "*"]
    proc = transport.run([board_python, "-c", "import sys, os; print(repr(sys.argv[1:])); print(sorted(os.listdir()))",
                          *words], cwd=remote)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == repr(words)  # every word arrived as itself
    assert lines[1] == repr(["a b.txt"])  # nothing was run, nothing was created
    transport.pull(remote, ["a b.txt"], tmp_path / "down")
    assert (tmp_path / "down" / "a b.txt").read_text() == "payload"
    transport.remove(remote)
    assert transport.run(["test", "-e", remote]).returncode == 1


def test_probe_reports_the_devices_runtimes(transport, board_python):
    offers = probe(transport)
    assert offers["numpy"] and offers["python"].startswith("3.")
    assert offers["tflite"] is not None
    if "EDGESR_BOARD_PYTHON" in __import__("os").environ:  # CI's board: only the older tflite_runtime
        assert offers["tflite"].startswith("tflite_runtime") and offers["onnx"] is None


def test_remote_outputs_match_a_local_run(transport, tflite_artifacts, shared_artifacts, data_root, tmp_path,
                                          board_python):
    """Int8 single-scale and a shared-trunk signature (x3), each scored from the device's outputs."""
    from edgesr.data.datasets import find_images
    from edgesr.data.degrade import degrade
    from edgesr.data.io import read_image, write_image
    from edgesr.formats.registry import open_runner
    from edgesr.inference import upscale

    files = find_images("Set5", str(data_root)).files[:2]

    timing = {"input_size": [24, 24], "warmup": 1, "min_runs": 2, "min_seconds": 0}
    for artifact, scale in ((tflite_artifacts["espcn-int8"], 2), (shared_artifacts["tflite-int8"], 3)):
        lr_dir = tmp_path / f"lr{scale}"
        for path in files:
            lr, _ = degrade(read_image(path), scale)
            write_image(lr_dir / f"{path.stem}.png", lr)
        out = tmp_path / f"out_{artifact.stem}"
        res = run_remote(transport, artifact, scale, lr_dir, out, timing)
        # masrn's INT8 is all 8-bit, so even CI's older tflite_runtime 2.14 board runs it
        assert res["ok"], res
        assert res["latency_ms"] > 0 and res["runs"] >= 2 and res["peak_rss_mb"] > 10 and res["load_ms"] > 0
        with open_runner(artifact, scale) as runner:
            for path in files:
                local = upscale(runner, read_image(lr_dir / f"{path.stem}.png"))
                remote = np.load(out / f"{path.stem}.npy")
                assert remote.shape == local.y.shape
                if board_python == sys.executable:  # the same runtime on the same CPU: the same pixels
                    assert np.array_equal(remote, local.y)
                else:  # another runtime version's int8 kernels round differently: a step apart per RGB
                    diff = np.abs(remote - local.y)  # channel at most (a misplaced tile would be far off)
                    psnr = 10 * np.log10(255.0 ** 2 / max(np.mean(diff ** 2), 1e-12))
                    assert diff.max() <= 3.0 and psnr > 44, (diff.max(), psnr)
    assert not list(Path(transport.profile.workdir).glob("edgesr-*"))  # the device is left clean


def test_a_changed_artifact_is_refused_on_the_device(transport, tflite_artifacts, tmp_path):
    from edgesr.manifest import manifest_path

    copy = tmp_path / tflite_artifacts["espcn-fp32"].name
    shutil.copy(tflite_artifacts["espcn-fp32"], copy)
    shutil.copy(manifest_path(tflite_artifacts["espcn-fp32"]), manifest_path(copy))
    (tmp_path / "lr").mkdir()
    res = run_remote(transport, copy, 2, tmp_path / "lr", tmp_path / "out",
                     {"input_size": [24, 24], "warmup": 0, "min_runs": 1, "min_seconds": 0})
    assert res["ok"]
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0xFF  # the manifest's hash no longer holds
    copy.write_bytes(bytes(data))
    from edgesr.errors import ArtifactError
    with pytest.raises(ArtifactError, match="SHA-256|sha256|does not match"):
        run_remote(transport, copy, 2, tmp_path / "lr", tmp_path / "out", {"input_size": [24, 24]})


def test_unreachable_host_is_one_clear_error(ssh_profile, tmp_path):
    text = "\n".join(line if not line.startswith("port") else "port = 1" for line in ssh_profile.read_text().splitlines())
    bad = tmp_path / "closed.toml"
    bad.write_text(text)
    with pytest.raises(DeviceError, match=r"ssh to 127\.0\.0\.1:1 failed: .*check host, port, user and key"):
        probe(open_transport(load_profile(str(bad))))


def test_missing_python_on_the_device_is_named(ssh_profile, tmp_path):
    text = "\n".join(line if not line.startswith("python") else "python = '/nonexistent/python3'"
                     for line in ssh_profile.read_text().splitlines())
    bad = tmp_path / "nopython.toml"
    bad.write_text(text)
    with pytest.raises(DeviceError, match="cannot run the on-device runner.*fix `python`"):
        probe(open_transport(load_profile(str(bad))))


@pytest.mark.slow
def test_bench_on_the_ssh_device(ssh_profile, weights, data_root, tmp_path):
    """`edgesr bench --device PROFILE` end to end: the table says where each row ran."""
    report = bench_on_device(ssh_profile, weights, data_root, tmp_path, "onnx,tflite,coreml", "fp32,int8")
    assert report["device"].startswith("testboard (OpenSSH")
    rows = {(r["format"], r["precision"]): r for r in report["rows"]}
    assert rows[("pytorch", "fp32")]["runs_on"] == "cpu"  # the baseline stays on the host
    for precision in ("fp32", "int8"):
        row = rows[("tflite", precision)]
        assert row["status"] == "passed", row
        assert row["runs_on"] == "testboard" and row["runtime"]
        assert row["latency_ms"] > 0 and row["psnr"] is not None and row["peak_rss_mb"] > 10
        # read against the device's own peak (numpy's matrix product there), with the device's threads
        assert 0 < row["of_peak"] and row["gflops"] == pytest.approx(row["gflop"] / row["latency_ms"] * 1000)
        assert row["threads"] >= 1
    assert report["peak"]["testboard"]["gflops"] > 0 and "numpy" in report["peak"]["testboard"]["library"]
    assert abs(rows[("tflite", "fp32")]["dpsnr"]) < 0.01
    onnx = rows[("onnx", "fp32")]
    if report["device_offers"]["onnx"]:
        assert onnx["status"] == "passed" and abs(onnx["dpsnr"]) < 0.01
    else:
        assert "has no onnxruntime runtime" in onnx["reason"]
    coreml = rows[("coreml", "fp32")]
    assert coreml["status"] == "exported, not run here" and "on-device runner takes" in coreml["reason"]
    assert "artifacts run on device testboard" in (tmp_path / "bench" / "bench.md").read_text()

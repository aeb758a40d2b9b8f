"""The adb transport, written against the real adb command line. Runs on a device only when one is
attached; what needs none runs everywhere."""

import shutil
from pathlib import Path

import pytest

from edgesr.devices.profiles import profile_from_dict
from edgesr.devices.transports import AdbTransport, open_transport
from edgesr.errors import DeviceError
from tests.devices.helpers import bench_on_device

REPO = Path(__file__).resolve().parents[2]


def test_missing_adb_is_named():
    profile = profile_from_dict("phone", {"kind": "adb", "workdir": "/data/local/tmp/e", "adb": "/nonexistent/adb"})
    with pytest.raises(DeviceError, match=r"adb command \(/nonexistent/adb\) is not found for device phone: apt install adb"):
        open_transport(profile)


def _attached() -> list[str]:
    if shutil.which("adb") is None:
        return []
    return AdbTransport(profile_from_dict("probe", {"kind": "adb", "workdir": "/data/local/tmp"})).attached()


@pytest.mark.skipif(not _attached(), reason="no Android device attached (adb devices lists none, or adb is not installed)")
def test_bench_on_an_android_device(weights, data_root, tmp_path):
    profile = tmp_path / "phone.toml"
    text = (REPO / "devices" / "pixel.toml").read_text()
    profile.write_text(text.replace("# serial = \"XXXXXXXX\"", f"serial = \"{_attached()[0]}\""))
    report = bench_on_device(profile, weights, data_root, tmp_path, "tflite", "fp32")
    row = [r for r in report["rows"] if r["format"] == "tflite"][0]
    assert row["status"] == "passed" and abs(row["dpsnr"]) < 0.01

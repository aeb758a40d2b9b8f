"""``edgesr bench --device browser``: ONNX artifacts in headless Chromium through the web app, rows like
any device's (load, latency, PSNR scored on the host), other formats not run with the reason; browser
profiles and their refusals; the one-line refusal when a tool is missing.

The end-to-end tests run a real bench in real Chromium (slow); they skip with the reason without
Chromium, chromedriver, selenium or onnxruntime-web (npm ci --prefix apps/web)."""

from __future__ import annotations

import json
import sys

import pytest
from click.testing import CliRunner

from edgesr.benchmark.harness import Status, BenchOptions, bench
from edgesr.benchmark.report import markdown
from edgesr.cli import main
from edgesr.devices.browser import ONLY_ONNX, BrowserDevice, check_tools
from edgesr.devices.profiles import available_profiles, load_profile, profile_from_dict
from edgesr.errors import DeviceError, MissingDependencyError
from tests.web.conftest import browser_missing

INSTALL = "apt-get install chromium chromium-driver"


# --- profiles ---------------------------------------------------------------------------------------

def test_browser_is_built_in_and_a_file_may_tune_it(tmp_path, monkeypatch):
    monkeypatch.delenv("EDGESR_DEVICES", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    built_in = load_profile("browser")
    assert (built_in.kind, built_in.backend, built_in.threads, built_in.chromium) == ("browser", "wasm", 0, None)
    assert available_profiles()[:3] == ["local", "cuda", "browser"]
    path = tmp_path / "chrome.toml"
    path.write_text('kind = "browser"\ndescription = "Chrome for Testing"\nbackend = "webgpu"\nthreads = 2\n'
                    'timeout = 60\nchromium = "/opt/chrome/chrome"\nchromedriver = "chromedriver"\n')
    profile = load_profile(str(path))
    assert (profile.kind, profile.backend, profile.threads, profile.timeout) == ("browser", "webgpu", 2, 60)
    assert (profile.chromium, profile.chromedriver) == ("/opt/chrome/chrome", "chromedriver")
    assert profile.label == "chrome (Chrome for Testing)"


@pytest.mark.parametrize("data, message", [
    ({"backend": "cuda"}, "backend must be wasm or webgpu"),
    ({"python": "python3"}, "a browser profile takes only .*; not python"),
    ({"host": "board", "workdir": "/tmp"}, "not host, workdir"),
    ({"chromium": "/bin/sh"}, "chromium '/bin/sh' is refused: .*program named chromium"),
    ({"chromium": "bin/chromium"}, "chromium 'bin/chromium' is refused"),  # relative: the current folder's
    ({"chromedriver": "/tmp/x/chromium"}, "chromedriver '/tmp/x/chromium' is refused"),
    ({"chromium": "chromium --renderer-cmd-prefix=sh"}, "is refused"),
    ({"chromium": "/usr/bin/chromium\n"}, "control character"),
    ({"threads": -1}, "threads must be a non-negative number"),
])
def test_bad_browser_profiles(data, message):
    with pytest.raises(DeviceError, match=message):
        profile_from_dict("b", {"kind": "browser", **data})


def test_browser_keys_belong_to_browser_profiles():
    with pytest.raises(DeviceError, match='only browser profiles .* take chromium; this one is ssh'):
        profile_from_dict("pi", {"kind": "ssh", "host": "pi", "workdir": "/tmp", "chromium": "chromium"})


# --- missing tools: the bench refuses up front, in one line ----------------------------------------

def test_missing_tools_are_one_line_naming_each_install(tmp_path, monkeypatch):
    import edgesr.web.server as server

    monkeypatch.delenv("EDGESR_CHROMIUM", raising=False)
    monkeypatch.setitem(sys.modules, "selenium", None)  # find_spec: not installed
    (tmp_path / "index.html").write_text("<!doctype html>")
    monkeypatch.setattr(server, "REPO_APP", tmp_path)  # an app without node_modules
    profile = profile_from_dict("browser", {"kind": "browser", "chromium": str(tmp_path / "chromium")})
    with pytest.raises(MissingDependencyError) as err:
        check_tools(profile)
    text = str(err.value)
    assert "\n" not in text and text.startswith("device browser cannot run here: it needs ")
    assert str(tmp_path / "chromium") in text and INSTALL in text
    assert "selenium (pip install 'edgesr[web]')" in text and "npm ci --prefix apps/web" in text
    assert text.endswith("; install them, or bench on --device local")


def test_the_cli_refuses_before_the_baseline(tmp_path, monkeypatch):
    monkeypatch.delenv("EDGESR_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no Chromium on the PATH
    import edgesr.benchmark.harness as harness

    monkeypatch.setattr(harness, "bench", lambda *a, **k: pytest.fail("the bench ran"))
    result = CliRunner().invoke(main, ["bench", "--device", "browser", "-f", "onnx", "-o", str(tmp_path / "out")])
    assert result.exit_code == 1
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("Error: device browser cannot run here: it needs Chromium") and INSTALL in line
    # nothing the browser could run: refused with the reason, before anything else is looked at
    result = CliRunner().invoke(main, ["bench", "--device", "browser", "-f", "tflite,coreml"])
    assert result.exit_code == 1
    assert f"leaves device browser nothing to run: {ONLY_ONNX}; add onnx" in result.output


def test_only_onnx_runs_there_and_the_report_says_what_the_latency_spans():
    device = BrowserDevice(load_profile("browser"), {})
    assert device.name == "browser" and device.why_not("onnx") is None
    assert device.why_not("tflite") == device.why_not("coreml") == ONLY_ONNX
    report = {"model": "m", "dataset": "Set5", "baseline": "b", "input_size": "8x8", "rows": [],
              "device": "browser", "device_kind": "browser",
              "device_offers": {"browser": "Chromium 156", "onnxruntime-web": "1.30.0", "backend": "wasm", "threads": 2}}
    note = markdown(report).splitlines()[0]
    assert ": Chromium 156, onnxruntime-web 1.30.0 wasm, 2 threads." in note and "page's own pipeline" in note
    assert "renderer process" in note


# --- a real bench in real Chromium ------------------------------------------------------------------

@pytest.fixture(scope="module")
def images(tmp_path_factory, data_root):
    """Three benchmark images: two of Set5, and Set14's bridge, which is grayscale (the page has no
    grayscale path: the host's pipeline with the network in the page)."""
    from edgesr.data.datasets import find_images

    folder = tmp_path_factory.mktemp("images")
    picked = [f for f in find_images("Set5", data_root).files if f.stem in ("bird", "head")]
    picked += [f for f in find_images("Set14", data_root).files if f.stem == "bridge"]
    assert len(picked) == 3
    for path in picked:
        (folder / path.name).symlink_to(path)
    return folder


@pytest.fixture(scope="module")
def browser_bench(tmp_path_factory, data_root, images):
    """fsrcnn x4 (the shipped weights: Y, small) as ONNX FP32 in the browser, and as Core ML (not run
    there), on three images; latency on one 32x32 frame."""
    why = browser_missing()
    if why:
        pytest.skip(why)
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: pip install 'edgesr[onnx]'")
    pytest.importorskip("coremltools", reason="the coreml extra is not installed: pip install 'edgesr[coreml]'")
    out = tmp_path_factory.mktemp("browser_bench")
    result = CliRunner().invoke(main, [
        "bench", "--device", "browser", "-m", "fsrcnn", "-s", "4", "-f", "onnx,coreml", "-p", "fp32",
        "--input-size", "32x32", "--min-runs", "3", "--min-seconds", "0", "--dataset", str(images),
        "-o", str(out), "--cache", str(out / "cache")])
    assert result.exit_code == 0, result.output
    return out, json.loads((out / "bench.json").read_text())


@pytest.mark.slow
def test_browser_rows_have_load_latency_and_psnr(browser_bench):
    _, report = browser_bench
    rows = {r["format"]: r for r in report["rows"]}
    assert report["device_kind"] == "browser" and report["device_offers"]["backends"][0] == "wasm"
    assert rows["pytorch"]["runs_on"] == "cpu"  # the baseline stays on this machine
    onnx = rows["onnx"]
    assert onnx["status"] == Status.PASSED and onnx["runs_on"] == "browser"
    assert onnx["load_ms"] > 0 and 0 < onnx["latency_ms"] <= onnx["p90_ms"] and onnx["psnr"] > 25
    assert onnx["runtime"].startswith("onnxruntime-web 1.30.0 wasm (") and "Chromium " in onnx["runtime"]
    assert onnx["peak_rss_mb"] is None or onnx["peak_rss_mb"] > 50  # the page's renderer, where /proc tells
    coreml = rows["coreml"]
    assert coreml["status"] == Status.NOT_RUN and coreml["reason"] == ONLY_ONNX and coreml["psnr"] is None


@pytest.mark.slow
def test_browser_psnr_equals_the_local_onnxruntime_row(browser_bench, images):
    out, report = browser_bench
    browser = next(r for r in report["rows"] if r["format"] == "onnx")
    local = bench(BenchOptions(model="fsrcnn", scales=(4,), formats=("onnx",), precisions=("fp32",),
                               dataset=str(images), input_size=(32, 32), min_runs=1, min_seconds=0,
                               cache=out / "cache"))
    row = next(r for r in local["rows"] if r["format"] == "onnx")
    assert row["artifact"] == browser["artifact"] and row["runs_on"] == "cpu"  # the same cached artifact
    assert abs(browser["psnr"] - row["psnr"]) <= 0.01
    assert abs(browser["ssim"] - row["ssim"]) <= 1e-3
    print(f"\nfsrcnn x4, 3 images: browser {browser['psnr']:.4f} dB, local ONNX Runtime {row['psnr']:.4f} dB")


@pytest.mark.slow
def test_a_backend_the_browser_lacks_is_refused_at_connect():
    from edgesr.devices.browser import connect

    why = browser_missing()
    if why:
        pytest.skip(why)
    profile = profile_from_dict("gpu", {"kind": "browser", "backend": "webgpu"})
    try:
        device = connect(profile)
    except DeviceError as exc:
        assert "offers no webgpu backend here (only wasm)" in str(exc)
    else:  # a browser with a WebGPU adapter on real hardware
        assert "webgpu" in device.offers["backends"]

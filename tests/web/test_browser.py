"""The web app in real headless Chromium (onnxruntime-web, WASM): Set5 through the shipped masrn's
ONNX artifact, upscaled by the page in overlapping tiles from LR PNGs made here, equals ONNX Runtime's
Python output within one grey level per pixel, and scores the PSNR of ``edgesr eval -a`` within
0.01 dB. A Y model with a fixed input size (tiles of its own size, padding) and a pre-upsampling one
(MATLAB bicubic in JavaScript) follow their contracts too; nothing is left running afterwards.

Skips with the reason without Chromium, chromedriver, selenium or onnxruntime-web (npm ci --prefix
apps/web); CI installs them."""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pytest

from edgesr.data.degrade import degrade
from edgesr.data.io import read_image, write_image
from edgesr.evaluation.evaluate import score_image
from edgesr.inference import SRImage
from tests.web.conftest import browser_missing, nearest_x2_artifact

pytestmark = pytest.mark.slow

TILES = {2: 96, 3: 64, 4: 48}  # network-input pixels per tile: several tiles per Set5 image at every scale


@pytest.fixture(scope="module")
def tools():
    why = browser_missing()
    if why:
        pytest.skip(why)


@pytest.fixture(scope="module")
def masrn(tools, tmp_path_factory):
    """The shipped masrn, x2/x3/x4 in one ONNX artifact (shared trunk, int64 scale input)."""
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: pip install 'edgesr[onnx]'")
    from edgesr.conversion.api import export_model

    return export_model("masrn", (2, 3, 4), "onnx", tmp_path_factory.mktemp("masrn"), check=False)


@pytest.fixture(scope="module")
def page(masrn):
    from edgesr.web.browser import Browser

    with Browser(masrn) as browser:
        browser.loaded = browser.load()
        yield browser


def _set5(data_root: Path, scale: int, folder: Path):
    """(name, LR PNG bytes, LR, HR) of each Set5 image, degraded as edgesr eval does."""
    from edgesr.data.datasets import find_images

    for path in find_images("Set5", data_root).files:
        lr, hr = degrade(read_image(path), scale)
        png = write_image(folder / f"{path.stem}_x{scale}.png", lr)
        yield path.stem, png.read_bytes(), lr, hr


@pytest.mark.parametrize("scale", [4, 3, 2])
def test_set5_in_the_page_equals_onnxruntime_and_edgesr_eval(page, masrn, data_root, scale, tmp_path):
    from edgesr.api import evaluate, open_runner
    from edgesr.inference import upscale

    assert page.loaded["contract"]["scale_input"] == "scale" and page.loaded["backend"] == "wasm"
    scores, worst, differ, values, started = [], 0, 0, 0, time.perf_counter()
    with open_runner(masrn, scale) as runner:
        for name, png, lr, hr in _set5(data_root, scale, tmp_path):
            out = page.upscale_file(png, scale, tile=TILES[scale], name=f"{name}.png")
            assert out.tiles > 1 and out.image.shape == (lr.shape[0] * scale, lr.shape[1] * scale, 3)
            python = upscale(runner, lr).image
            diff = np.abs(out.image.astype(int) - python)
            worst, differ, values = max(worst, int(diff.max())), differ + int((diff > 0).sum()), values + diff.size
            scores.append(score_image(SRImage(out.image, out.y), hr, scale)[0])
    seconds = time.perf_counter() - started
    reference = evaluate(masrn, "Set5", scale, data_root=data_root).psnr
    delta = float(np.mean(scores)) - reference
    print(f"\nx{scale}: page PSNR {np.mean(scores):.4f} dB, edgesr eval {reference:.4f} dB (delta {delta:+.1e} dB); "
          f"max difference from ONNX Runtime {worst} ({differ} of {values} values differ); {seconds:.1f} s")
    assert worst <= 1
    assert abs(delta) <= 0.01
    progress = page.call("call(async () => { const p = document.getElementById('progress'); return [p.value, p.max]; });")
    assert progress[0] == progress[1] > 1


def test_the_download_is_the_result_and_the_page_shows_both(page, data_root, tmp_path):
    from PIL import Image

    name, png, lr, _ = next(_set5(data_root, 4, tmp_path))
    out = page.upscale_file(png, 4, tile=64, name=f"{name}.png")
    download = np.array(Image.open(io.BytesIO(page.result_png())).convert("RGB"))
    assert np.array_equal(download, out.image)
    sizes = page.call("call(async () => ['before', 'after'].map((id) => { const c = document.getElementById(id);"
                      " return [c.width, c.height]; }));")
    assert sizes == [[lr.shape[1], lr.shape[0]], [lr.shape[1] * 4, lr.shape[0] * 4]]
    shot = page.screenshot(tmp_path / "page.png")
    assert Image.open(shot).size == (1280, 800)


def test_one_network_run_equals_onnxruntime(page, masrn, rng):
    import onnxruntime as ort

    x = rng.random((1, 3, 40, 33), dtype=np.float32)
    got, ms = page.run_tensor(x, 3)
    session = ort.InferenceSession(str(masrn), providers=["CPUExecutionProvider"])
    want = session.run(["output"], {"input": x, "scale": np.array(3, dtype=np.int64)})[0]
    assert got.shape == want.shape == (1, 3, 120, 99) and ms > 0
    assert np.abs(got - want).max() < 1e-4


@pytest.fixture(scope="module")
def small_models(tools, tmp_path_factory):
    """fsrcnn x4 (Y, fixed 24x24 LR tiles) and bicubic x4 (RGB, pre-upsampling), exported unchecked."""
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: pip install 'edgesr[onnx]'")
    from edgesr.conversion.api import export_model

    out = tmp_path_factory.mktemp("small")
    return {"fsrcnn": export_model("fsrcnn", 4, "onnx", out, lr_size=(24, 24), check=False),
            "bicubic": export_model("bicubic", 4, "onnx", out, check=False)}


@pytest.mark.parametrize("model", ["fsrcnn", "bicubic"])
def test_y_fixed_size_and_pre_upsampling_models_follow_their_contracts(small_models, model, data_root, tmp_path):
    """fsrcnn: the network's Y within one grey level of ONNX Runtime's (its RGB, Y plus bicubic chroma
    through BT.601, within two: one level of Y is 1.16 of R, G or B); bicubic: MATLAB's imresize in
    JavaScript, bit-exact. Images smaller than a tile are padded (fixed) or grown to 16 pixels."""
    from edgesr.api import open_runner
    from edgesr.inference import upscale
    from edgesr.web.browser import Browser

    with Browser(small_models[model]) as browser, open_runner(small_models[model], 4) as runner:
        browser.load()
        for _, _, lr, _ in _set5(data_root, 4, tmp_path):
            for image in (lr, np.ascontiguousarray(lr[:10, :13])):
                out, python = browser.upscale(image, 4), upscale(runner, image)
                rgb = np.abs(out.image.astype(int) - python.image).max()
                if model == "bicubic":
                    assert rgb == 0 and out.y is None
                else:
                    assert np.abs(out.y.astype(int) - python._y).max() <= 1 and rgb <= 2


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_the_file_pickers_and_closing_leaves_no_chromium_running(tools, tmp_path):
    """A page served without an artifact: the model and the image come through the file pickers, as a
    user gives them; then Chromium and chromedriver are gone."""
    from PIL import Image

    from edgesr.web.browser import Browser

    artifact = nearest_x2_artifact(tmp_path)
    image = np.arange(20 * 18 * 3, dtype=np.uint8).reshape(20, 18, 3)
    png = write_image(tmp_path / "ramp.png", image)
    bare = tmp_path / "bare.onnx"
    bare.write_bytes(b"\x08\x08\x12\x06edgesr")  # an ONNX model without the contract
    with Browser(None) as browser:
        idle = "call(async () => { await new Promise((r) => setTimeout(r, 100)); return (await page()).idle(); });"
        browser.driver.find_element("id", "model-file").send_keys(str(bare))
        assert browser.call(idle).startswith("bare.onnx carries no edgesr I/O contract")
        browser.driver.find_element("id", "model-file").send_keys(str(artifact))
        assert "loaded on wasm" in browser.call(idle)
        browser.driver.find_element("id", "image-file").send_keys(str(png))
        assert browser.call(idle).startswith("x2 in")
        out = np.array(Image.open(io.BytesIO(browser.result_png())).convert("RGB"))
        assert np.array_equal(out, image.repeat(2, axis=0).repeat(2, axis=1))  # nearest x2, exact
        driver = browser.driver.service.process.pid
        started = _descendants(driver) | {driver}
        assert len(started) > 2  # chromedriver, chromium and its helpers
    deadline = time.monotonic() + 15
    while any(map(_alive, started)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in started if _alive(pid)]

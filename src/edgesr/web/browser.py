"""Headless Chromium on the web app, through Selenium's WebDriver: the page's ``window.edgesr`` API
(see ``apps/web/app.js``) called from Python, for tests, screenshots and ``edgesr bench --device
browser``.

``Browser`` serves the app (:class:`~edgesr.web.server.WebServer`, a free port on 127.0.0.1), starts
Chromium headless through the system's chromedriver (never Selenium Manager: nothing is downloaded),
opens the page and waits for its initial model load; leaving the ``with`` block quits Chromium and
stops the server. Images and tensors cross as base64."""

from __future__ import annotations

import base64
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edgesr.errors import EdgesrError, MissingDependencyError

CHROMIUM_INSTALL = "apt-get install chromium chromium-driver"
CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Runs in the page before every call: base64 <-> bytes, and errors passed back as {error}.
_WIRE = """
const done = arguments[arguments.length - 1];
const fromB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const toB64 = (bytes) => new Promise((resolve, reject) => {
  const reader = new FileReader();
  reader.onload = () => resolve(reader.result.slice(reader.result.indexOf(',') + 1));
  reader.onerror = () => reject(reader.error);
  reader.readAsDataURL(new Blob([bytes]));
});
const args = arguments;
const page = async () => { // the page's API, once its module has run
  while (!window.edgesr) await new Promise((r) => setTimeout(r, 20));
  return window.edgesr;
};
const call = (fn) => fn().then(done, (e) => done({error: String((e && e.message) || e)}));
"""


def find_tools(chromium: str | None = None, chromedriver: str | None = None) -> tuple[str, str]:
    """Paths of Chromium and chromedriver (given, ``$EDGESR_CHROMIUM``/``$EDGESR_CHROMEDRIVER``, or on
    PATH), or one line naming the install."""
    browser = chromium or os.environ.get("EDGESR_CHROMIUM") or next(filter(None, map(shutil.which, CHROMIUMS)), None)
    driver = chromedriver or os.environ.get("EDGESR_CHROMEDRIVER") or shutil.which("chromedriver")
    if driver is None and Path("/usr/bin/chromedriver").is_file():
        driver = "/usr/bin/chromedriver"
    if not browser or not driver:
        missing = " and ".join(n for n, p in (("Chromium", browser), ("chromedriver", driver)) if not p)
        raise MissingDependencyError(f"{missing} not found (the browser runs need them); install them with: "
                                     f"{CHROMIUM_INSTALL}")
    return browser, driver


def require_selenium():
    """selenium's webdriver, or one line naming ``pip install 'edgesr[web]'``."""
    from edgesr._deps import require

    return require("selenium.webdriver", "web")


@dataclass
class PageImage:
    """An image the page upscaled: ``image`` (uint8 HxWx3), ``y`` (a Y model's own rounded Y, else
    None), the page's ``ms`` for the whole pipeline and the number of ``tiles``."""

    image: np.ndarray
    y: np.ndarray | None
    ms: float
    tiles: int

    @property
    def sr(self):
        """As :class:`edgesr.inference.SRImage`, for :func:`edgesr.evaluation.evaluate.score_image`."""
        from edgesr.inference import SRImage

        return SRImage(self.image, self.y)


def _b64(data: bytes | np.ndarray) -> str:
    return base64.b64encode(bytes(data) if isinstance(data, bytes) else np.ascontiguousarray(data).tobytes()).decode()


def _bytes(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=np.uint8)


class Browser:
    """Headless Chromium on the app serving ``artifact`` (an ONNX artifact, or None: load one with
    :meth:`load`). Use it as a context manager; ``load()`` first, then ``upscale``/``run_tensor``.

    ``backend``: ``wasm`` or ``webgpu`` (where the browser has it); ``threads``: onnxruntime-web's WASM
    threads (0: its default), fixed by the page's first load. ``timeout``: seconds one call may take."""

    def __init__(self, artifact: str | os.PathLike | None = None, *, backend: str = "wasm", threads: int = 0,
                 size: tuple[int, int] = (1280, 800), timeout: float = 900, chromium: str | None = None,
                 chromedriver: str | None = None, app_dir: str | None = None, ort_dist: str | None = None):
        self.artifact, self.backend, self.threads = artifact, backend, threads
        self.size, self.timeout = size, timeout
        self._tools, self._app = (chromium, chromedriver), (app_dir, ort_dist)
        self.server = self.driver = None
        self.version = ""  # "Chromium 156.0...", once open

    def __enter__(self) -> "Browser":
        try:
            self.open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        """Serve the app and open it in headless Chromium (the artifact is not loaded yet)."""
        webdriver = require_selenium()
        browser, driver = find_tools(*self._tools)
        from edgesr.web.server import WebServer

        self.server = WebServer(self.artifact, port=0, app_dir=self._app[0], ort_dist=self._app[1]).start()
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars",
                    "--force-device-scale-factor=1", f"--window-size={self.size[0]},{self.size[1]}",
                    *(("--enable-unsafe-webgpu",) if self.backend == "webgpu" else ())):
            options.add_argument(arg)
        try:
            self.driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=driver), options=options)
            self.driver.set_script_timeout(self.timeout)
            self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {  # the viewport, not the window
                "width": self.size[0], "height": self.size[1], "deviceScaleFactor": 1, "mobile": False})
            self.driver.get(self.server.url + "?load=0")
        except Exception as exc:
            raise EdgesrError(f"headless Chromium did not start ({_first_line(exc)}); check {browser} and {driver} "
                              f"({CHROMIUM_INSTALL})") from exc
        caps = self.driver.capabilities
        self.version = f"Chromium {caps.get('browserVersion', '?')}"

    def close(self) -> None:
        """Quit Chromium (and chromedriver) and stop the server; safe to call twice."""
        driver, self.driver = self.driver, None
        if driver is not None:
            try:
                driver.quit()
            except Exception:  # already gone: nothing left to quit
                pass
        server, self.server = self.server, None
        if server is not None:
            server.close()

    def call(self, body: str, *args: Any) -> Any:
        """Run ``body`` (JavaScript using ``page()``, ``call(async () => ...)``, ``args``, ``fromB64``,
        ``toB64``) in the page and return what it passes back; a page error raises EdgesrError."""
        if self.driver is None:
            raise EdgesrError("the browser is not open; use Browser as a context manager")
        try:
            out = self.driver.execute_async_script(_WIRE + body, *args)
        except Exception as exc:
            raise EdgesrError(f"the browser call failed: {_first_line(exc)}") from exc
        if isinstance(out, dict) and "error" in out:
            raise EdgesrError(f"the page: {out['error']}")
        return out

    def load(self, url: str | None = None) -> dict:
        """Load the served artifact (or ``url``) on the chosen backend: {ms, contract, backend, threads}."""
        url = url or (self.server.artifact_url if self.server else None)
        if not url:
            raise EdgesrError("no artifact to load: give Browser an ONNX artifact, or load(url)")
        return self.call("call(async () => (await page()).load(args[0], {backend: args[1], threads: args[2]}));",
                         url, self.backend, self.threads)

    def upscale(self, lr: np.ndarray, scale: int, tile: int | None = None) -> PageImage:
        """Upscale an HxWx3 uint8 image through the page's whole pipeline (bicubic, colour, tiles)."""
        lr = np.asarray(lr)
        if lr.dtype != np.uint8 or lr.ndim != 3 or lr.shape[2] != 3:
            raise EdgesrError(f"the page takes uint8 HxWx3 RGB images, got {lr.dtype} {lr.shape}")
        h, w = lr.shape[:2]
        rgba = np.concatenate([lr, np.full((h, w, 1), 255, np.uint8)], axis=2)
        out = self.call(_UPSCALE.replace("CALL", "e.upscale(fromB64(args[0]), args[1], args[2], args[3], opts)"),
                        _b64(rgba), w, h, int(scale), _tile(tile))
        return _page_image(out)

    def upscale_file(self, data: bytes, scale: int, tile: int | None = None, name: str = "image.png") -> PageImage:
        """Upscale an image file's bytes as a dropped file goes: decoded by the page, shown before and
        after, offered for download."""
        out = self.call(_UPSCALE.replace("CALL", "e.upscaleFile(new Blob([fromB64(args[0])]), args[1], "
                                         "{...opts, name: args[2]})"), _b64(data), int(scale), name, _tile(tile))
        return _page_image(out)

    def run_tensor(self, x: np.ndarray, scale: int) -> tuple[np.ndarray, float]:
        """One network run on ``x`` (float32, in the contract's input layout and units): (output, ms)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = self.call("call(async () => { const r = await (await page()).runTensor("
                        "new Float32Array(fromB64(args[0]).buffer), args[1], args[2]);"
                        " return {data: await toB64(new Uint8Array(r.data.buffer)), dims: r.dims, ms: r.ms}; });",
                        _b64(x), list(x.shape), int(scale))
        data = np.frombuffer(base64.b64decode(out["data"]), dtype=np.float32).reshape(out["dims"])
        return data, float(out["ms"])

    def result_png(self) -> bytes:
        """The PNG the page's download button saves (after upscale_file)."""
        return base64.b64decode(self.call("call(async () => toB64(await (await page()).resultPng()));"))

    def screenshot(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        if not self.driver.save_screenshot(str(path)):
            raise EdgesrError(f"could not write the screenshot {path}")
        return path


# upscale/upscaleFile: the result's pixels as base64 (the last argument is {tile})
_UPSCALE = """call(async () => {
  const e = await page(), opts = args[args.length - 2] || {};
  const r = await CALL;
  return {rgba: await toB64(r.rgba), y: r.y ? await toB64(r.y) : null, width: r.width, height: r.height,
          ms: r.ms, tiles: r.tiles};
});"""


def _tile(tile: int | None) -> dict:
    return {"tile": int(tile)} if tile else {}


def _page_image(out: dict) -> PageImage:
    h, w = out["height"], out["width"]
    image = _bytes(out["rgba"]).reshape(h, w, 4)[..., :3].copy()
    y = _bytes(out["y"]).reshape(h, w).copy() if out.get("y") else None
    return PageImage(image, y, float(out["ms"]), int(out["tiles"]))


def _first_line(exc: BaseException) -> str:
    text = getattr(exc, "msg", None) or str(exc)
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__

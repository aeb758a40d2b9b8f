"""Serve the web app, onnxruntime-web and one ONNX artifact over http on 127.0.0.1.

Routes: ``/`` the app (``apps/web``), ``/ort/`` onnxruntime-web's ``dist/`` (``npm ci --prefix
apps/web`` puts it in ``apps/web/node_modules``), ``/artifact/<name>`` the artifact and
``/config.json`` naming it (the page loads it on start). Every response carries the COOP/COEP
headers that make the page cross-origin isolated, so onnxruntime-web's WASM backend can use threads
(SharedArrayBuffer); 127.0.0.1 counts as a secure context, other hosts over http do not."""

from __future__ import annotations

import json
import shutil
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from edgesr.errors import ArtifactError, EdgesrError

REPO_APP = Path(__file__).resolve().parents[3] / "apps" / "web"
ORT_DIST = Path("node_modules") / "onnxruntime-web" / "dist"
NPM_INSTALL = "npm ci --prefix apps/web"

MIME = {
    ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".json": "application/json",
    ".map": "application/json", ".wasm": "application/wasm", ".onnx": "application/octet-stream",
    ".png": "image/png", ".svg": "image/svg+xml", ".ico": "image/x-icon",
}
HEADERS = {  # cross-origin isolation (threads in onnxruntime-web), and no stale files while developing
    "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin", "Cache-Control": "no-store",
}


def check_artifact(artifact: str | Path) -> dict:
    """The contract of an ONNX ``artifact`` (its manifest checked, its embedded contract read), or one
    line saying why the browser cannot run it."""
    from edgesr.formats.registry import read_contract
    from edgesr.manifest import read_manifest

    artifact = Path(artifact)
    if not artifact.exists():
        raise ArtifactError(f"{artifact}: no such artifact")
    if artifact.is_dir() or artifact.suffix != ".onnx":
        raise ArtifactError(f"{artifact} is not an ONNX artifact; the browser runs ONNX artifacts "
                            "(edgesr export -f onnx)")
    manifest = read_manifest(artifact)
    if manifest.format != "onnx":
        raise ArtifactError(f"{artifact} is a {manifest.format} artifact; the browser runs ONNX artifacts")
    return read_contract(artifact)


def find_app(app_dir: str | Path | None = None, ort_dist: str | Path | None = None) -> tuple[Path, Path]:
    """The app folder and onnxruntime-web's ``dist/``, or one line naming what to install."""
    app = Path(app_dir) if app_dir else REPO_APP
    if not (app / "index.html").is_file():
        raise EdgesrError(f"no web app in {app}: edgesr serve runs apps/web of a clone of the repository; install "
                          f"edgesr from a clone (pip install -e .) and run {NPM_INSTALL} there")
    dist = Path(ort_dist) if ort_dist else app / ORT_DIST
    if not (dist / "ort.min.mjs").is_file():
        raise EdgesrError(f"onnxruntime-web is not installed ({dist} has no ort.min.mjs); install it with: "
                          f"{NPM_INSTALL}")
    return app.resolve(), dist.resolve()


class _Handler(BaseHTTPRequestHandler):
    """GET and HEAD of the routes in ``self.server.routes``; nothing outside them."""

    server_version = "edgesr"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        log = getattr(self.server, "log", None)
        if log is not None:
            log(f"{self.address_string()} {format % args}")

    def do_HEAD(self) -> None:
        self._respond(body=False)

    def do_GET(self) -> None:
        self._respond(body=True)

    def _not_allowed(self) -> None:
        """Every other method: 405 with the ones served (the base class answers 501, a server error)."""
        self.close_connection = True  # a request body, if any, is not read
        self.send_response(405, "method not allowed")
        self.send_header("Allow", "GET, HEAD")
        body = b"405 method not allowed: this server only serves GET and HEAD\n"
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _not_allowed

    def _respond(self, body: bool) -> None:
        try:
            found = self.server.lookup(unquote(urlsplit(self.path).path, errors="strict"))
        except (ValueError, OSError):  # a NUL byte, bad %-escapes or a name the file system refuses
            self.send_error(400, "bad path")
            return
        if found is None:
            self.send_error(404, "not found")
            return
        data, suffix = (found, ".json") if isinstance(found, bytes) else (None, found.suffix)
        size = len(data) if data is not None else found.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", MIME.get(suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(size))
        for key, value in HEADERS.items():
            self.send_header(key, value)
        self.end_headers()
        if not body:
            return
        try:
            if data is not None:
                self.wfile.write(data)
            else:
                with open(found, "rb") as f:
                    shutil.copyfileobj(f, self.wfile)
        except (BrokenPipeError, ConnectionResetError):  # the page went away mid-file (a reload, a closed tab)
            self.close_connection = True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        if code == 501:  # a method no do_X serves (the base class's 501 reads as a server fault)
            self._not_allowed()
            return
        self.error_content_type = "text/plain; charset=utf-8"
        self.error_message_format = "%(code)d %(message)s\n"
        super().send_error(code, message, explain)


def _inside(root: Path, rel: str) -> Path | None:
    path = (root / rel.lstrip("/")).resolve()
    return path if path.is_file() and path.is_relative_to(root) else None


class WebServer:
    """The app, onnxruntime-web and (optionally) one artifact on ``http://host:port/`` (port 0: a free
    one). A context manager serving from a thread; :meth:`serve_forever` serves in the caller's.
    ``log(line)`` is told each request (None: quiet)."""

    def __init__(self, artifact: str | Path | None = None, *, host: str = "127.0.0.1", port: int = 8000,
                 app_dir: str | Path | None = None, ort_dist: str | Path | None = None, log=None):
        self.app, self.dist = find_app(app_dir, ort_dist)
        self.contract = check_artifact(artifact) if artifact is not None else None
        self.artifact = Path(artifact).resolve() if artifact is not None else None
        try:
            self.httpd = ThreadingHTTPServer((host, port), _Handler)
        except OSError as exc:
            raise EdgesrError(f"cannot serve on {host}:{port} ({exc.strerror or exc}); choose another --port") from exc
        self.httpd.daemon_threads = True
        self.httpd.lookup, self.httpd.log = self.lookup, log
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    @property
    def artifact_url(self) -> str | None:
        """The artifact's URL relative to the page, or None when none is served."""
        from urllib.parse import quote

        return f"artifact/{quote(self.artifact.name)}" if self.artifact else None

    def lookup(self, path: str) -> Path | bytes | None:
        """The file (or the bytes of config.json) a URL path names; None: 404."""
        if path in ("/", "/index.html"):
            return self.app / "index.html"
        if path == "/config.json":
            if not self.artifact:
                return None
            return json.dumps({"artifact": self.artifact_url, "name": self.artifact.name}).encode()
        if path.startswith("/ort/"):
            return _inside(self.dist, path[len("/ort/"):])
        if path.startswith("/artifact/"):
            return self.artifact if self.artifact and path[len("/artifact/"):] == self.artifact.name else None
        found = _inside(self.app, path)
        return None if found is None or found.is_relative_to(self.app / "node_modules") else found

    def start(self) -> "WebServer":
        if self._thread is None:
            self._thread = threading.Thread(target=partial(self.httpd.serve_forever, poll_interval=0.2),
                                            name="edgesr-web", daemon=True)
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> "WebServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

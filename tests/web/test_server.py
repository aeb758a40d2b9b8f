"""edgesr serve's server (no browser): routes, MIME types onnxruntime-web needs, the COOP/COEP headers
that give its WASM backend threads, and one-line refusals (a non-ONNX artifact, onnxruntime-web not
installed, an artifact whose manifest does not match)."""

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from edgesr.errors import ArtifactError, EdgesrError
from edgesr.web.server import WebServer, check_artifact
from tests.web.conftest import APP, nearest_x2_artifact, ort_missing


@pytest.fixture
def artifact(tmp_path):
    return nearest_x2_artifact(tmp_path)


@pytest.fixture
def dist(tmp_path):
    """A stand-in for onnxruntime-web's dist/ (the real one where npm installed it)."""
    if ort_missing() is None:
        return None
    folder = tmp_path / "dist"
    folder.mkdir()
    (folder / "ort.min.mjs").write_text("export const env = {};\n")
    (folder / "ort-wasm-simd-threaded.jsep.wasm").write_bytes(b"\0asm\1\0\0\0")
    (folder / "ort-wasm-simd-threaded.jsep.mjs").write_text("export default 1;\n")
    return folder


def get(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_routes_mime_types_and_isolation_headers(artifact, dist):
    with WebServer(artifact, port=0, ort_dist=dist) as server:
        assert server.url.startswith("http://127.0.0.1:")
        want = {"": "text/html", "app.js": "text/javascript", "style.css": "text/css",
                "ort/ort.min.mjs": "text/javascript", "ort/ort-wasm-simd-threaded.jsep.mjs": "text/javascript",
                "ort/ort-wasm-simd-threaded.jsep.wasm": "application/wasm",
                f"artifact/{artifact.name}": "application/octet-stream", "config.json": "application/json"}
        for path, mime in want.items():
            status, headers, body = get(server.url + path)
            assert status == 200, path
            assert headers["Content-Type"].startswith(mime), path
            assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
            assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
            assert int(headers["Content-Length"]) == len(body)
        assert get(server.url + f"artifact/{artifact.name}")[2] == artifact.read_bytes()
        config = json.loads(get(server.url + "config.json")[2])
        assert config == {"artifact": f"artifact/{artifact.name}", "name": artifact.name}
        for path in ("missing.js", "node_modules/onnxruntime-web/package.json", "..%2F..%2Fpyproject.toml",
                     "ort/..%2F..%2Fpackage.json", "artifact/other.onnx", "artifact/..%2Fx"):
            assert get(server.url + path)[0] == 404, path


def test_paths_it_cannot_serve_are_4xx_without_a_traceback(artifact, dist, capfd):
    """Issue 36: `GET /%00` ended in a traceback in the server."""
    lines = []
    with WebServer(artifact, port=0, ort_dist=dist, log=lines.append) as server:
        for path in ("%00", "ort/%00x.mjs", "artifact/%00", "%ff%fe", "a" * 5000, "%2e%2e/%2e%2e/etc/passwd"):
            status = get(server.url + path)[0]
            assert 400 <= status < 500, (path, status)
        assert get(server.url)[0] == 200  # still serving
    assert "Traceback" not in capfd.readouterr().err and not any("Traceback" in line for line in lines)


def test_without_an_artifact_the_page_waits_for_the_file_picker(dist):
    with WebServer(None, port=0, ort_dist=dist) as server:
        assert get(server.url + "config.json")[0] == 404
        assert get(server.url)[0] == 200


def test_only_onnx_artifacts_are_served(tmp_path, artifact, dist):
    other = tmp_path / "m.tflite"
    other.write_bytes(b"TFL3")
    with pytest.raises(ArtifactError, match="not an ONNX artifact; the browser runs ONNX artifacts"):
        WebServer(other, port=0, ort_dist=dist)
    with pytest.raises(ArtifactError, match="no such artifact"):
        check_artifact(tmp_path / "gone.onnx")
    artifact.write_bytes(artifact.read_bytes() + b"\0")
    with pytest.raises(ArtifactError, match="sha256"):
        check_artifact(artifact)


def test_missing_onnxruntime_web_names_the_install(tmp_path, artifact):
    with pytest.raises(EdgesrError, match=r"onnxruntime-web is not installed .*npm ci --prefix apps/web"):
        WebServer(artifact, port=0, ort_dist=tmp_path / "nowhere")
    with pytest.raises(EdgesrError, match="no web app in") as refused:
        WebServer(artifact, port=0, app_dir=tmp_path)
    # what the messages suggest exists: every option they name is one of edgesr serve's (a torch-free
    # install, which has no clone, once read "or give its folder", an option serve does not have)
    import re

    from edgesr.cli.serving import serve_cmd

    options = {name for param in serve_cmd.params for name in getattr(param, "opts", ())}
    assert "pip install -e ." in str(refused.value) and "npm ci --prefix apps/web" in str(refused.value)
    assert set(re.findall(r"--[a-z][\w-]*", str(refused.value))) <= options | {"--prefix"}
    assert "give its folder" not in str(refused.value)


def test_a_busy_port_is_one_line(artifact, dist):
    with WebServer(artifact, port=0, ort_dist=dist) as first:
        port = int(first.url.rsplit(":", 1)[1].strip("/"))
        with pytest.raises(EdgesrError, match=f"cannot serve on 127.0.0.1:{port}.*another --port"):
            WebServer(artifact, port=port, ort_dist=dist)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_edgesr_serve_prints_the_url_and_stops_on_ctrl_c(artifact, dist, sig):
    args = [sys.executable, "-m", "edgesr.cli", "serve", str(artifact), "--port", "0"]
    args += ["--ort-dist", str(dist)] if dist else []
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        assert "edgesr nearest super-resolution (x2, fp32) on RGB" in lines[0]
        url = lines[1].split(" on ", 1)[1].split()[0]
        assert get(url)[0] == 200
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == 0
        assert "stopped" in proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_the_app_folder_is_what_the_server_serves():
    assert (APP / "index.html").is_file() and (APP / "package-lock.json").is_file()
    lock = json.loads((APP / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/onnxruntime-web"]["version"] == "1.30.0"

"""The hostile-input suite (issue 36): what a careless or hostile user, file or client can hand edgesr.

Each case asserts the promise as a user meets it: one error line naming the problem (no traceback), the
exit code (1 for a refused input, 2 for a usage error), and that nothing was written: the working folder
and every input are byte for byte as they were. The cases run in-process (click's runner, the Python
API, a real HTTP server) on hand-made files, with no export, so the whole suite takes seconds.
"""

from __future__ import annotations

import hashlib
import json
import struct
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from click.testing import CliRunner

from edgesr.cli import main
from edgesr.data.io import write_image
from edgesr.errors import EdgesrError
from edgesr.manifest import manifest_path
from tests.web.conftest import nearest_x2_artifact


# --- the world a case starts from -------------------------------------------------------------------------------
@dataclass
class World:
    root: Path
    image: Path  # in/a.png, a good 48x60 RGB image
    weights: Path  # w.safetensors, espcn x2 as edgesr saves it
    artifact: Path  # art/nearest_x2_fp32_dynamic.onnx with its manifest (hand-made ONNX, no export)
    data_root: Path  # a benchmark-set root holding Set5 (one image)
    config: Path  # c.yaml, a valid training config
    pixels: np.ndarray  # the good image's pixels (conftest's photo)

    def fill(self, arg: str) -> str:
        return arg.format(root=self.root, img=self.image, w=self.weights, a=self.artifact, data=self.data_root,
                          cfg=self.config)


@pytest.fixture
def world(tmp_path, monkeypatch, photo) -> World:
    from edgesr.models import create_model
    from edgesr.models.weights import save_weights

    monkeypatch.chdir(tmp_path)
    image = write_image(tmp_path / "in" / "a.png", photo)
    write_image(tmp_path / "data" / "Set5" / "bird.png", photo)
    (tmp_path / "art").mkdir()
    import torch

    torch.manual_seed(0)
    weights = save_weights(create_model("espcn", scale=2), tmp_path / "w.safetensors")
    config = tmp_path / "c.yaml"
    config.write_text(f"model: espcn\nscales: [2]\npatch_size: 24\nbatch_size: 2\niterations: 2\n"
                      f"data_root: {tmp_path / 'data'}\ntrain_sets: [Set5]\nval_set: Set5\n"
                      f"out_dir: {tmp_path / 'run'}\n")
    artifact = nearest_x2_artifact(tmp_path / "art", check={"skipped": "not asked for (--no-check)"})
    return World(tmp_path, image, weights, artifact, tmp_path / "data", config, photo)


def _tree(root: Path) -> dict[str, str]:
    """Every file and folder under root, with a hash of each file's bytes."""
    return {str(p.relative_to(root)): (hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir")
            for p in sorted(root.rglob("*"))}


def _one_line(output: str) -> list[str]:
    return [line for line in output.strip().splitlines() if line.startswith("Error")]


# --- hostile files, written by a case's setup ---------------------------------------------------------------------
def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with one tiny IDAT (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 16)) + chunk(b"IEND", b""))


def _weights_with(meta: dict[str, str]) -> Callable[[World], None]:
    def setup(w: World) -> None:
        from edgesr.models import create_model
        from edgesr.models.weights import save_weights

        save_weights(create_model("espcn", scale=2), w.root / "m.safetensors", meta)
    return setup


def _manifest(change: Callable[[dict], object]) -> Callable[[World], None]:
    def setup(w: World) -> None:
        path = manifest_path(w.artifact)
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))
    return setup


def _write(name: str, content: bytes | str) -> Callable[[World], None]:
    def setup(w: World) -> None:
        path = w.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return setup


def _config(text: str) -> Callable[[World], None]:
    return _write("bad.yaml", text)


def _set(key: str, value):
    def change(data: dict) -> None:
        data[key] = value
    return change


def _set_input(key: str, value):
    def change(data: dict) -> None:
        data["input"][key] = value
    return change


def _truncate_artifact(w: World) -> None:
    w.artifact.write_bytes(w.artifact.read_bytes()[:100])


def _evil_beside(w: World) -> None:
    (w.root / "evil.py").write_text(f"open({str(w.root / 'ran')!r}, 'w').close()\n")


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    expect: str  # a fragment of the one error line
    code: int = 1
    setup: Callable[[World], None] | None = None
    setups: tuple = field(default=())


UPSCALE = ("upscale", "{img}", "-o", "{root}/out.png")
UP_ART = ("upscale", "{img}", "-o", "{root}/out.png", "-a", "{a}")
EVAL_ART = ("eval", "-a", "{a}", "-d", "Set5", "--data-root", "{data}")
EXPORT = ("export", "-m", "espcn", "-w", "{w}", "-s", "2", "-f", "onnx", "-o", "{root}/exports",
          "--data-root", "{data}")
BENCH = ("bench", "-m", "espcn", "--scales", "2", "--formats", "onnx", "-d", "Set5", "--data-root", "{data}",
         "-o", "{root}/bench")
TRAIN = ("train", "{cfg}")

CLI_CASES = [
    # options
    Case("upscale-scale-not-shipped", (*UPSCALE, "-m", "fsrcnn", "-s", "2"), "only x4 is shipped"),
    Case("upscale-scale-out-of-range", (*UPSCALE, "-m", "bicubic", "-s", "9"), "9", 2),
    Case("upscale-scale-not-a-number", (*UPSCALE, "-m", "bicubic", "-s", "two"), "two", 2),
    Case("upscale-tile-negative", (*UPSCALE, "-m", "bicubic", "-s", "2", "--tile", "-4"), "-4", 2),
    Case("upscale-threads-negative", (*UPSCALE, "-m", "bicubic", "-s", "2", "--threads", "-1"), "-1", 2),
    Case("upscale-threads-1000", (*UPSCALE, "-m", "bicubic", "-s", "2", "--threads", "1000"), "cores"),
    Case("upscale-device-unknown", (*UPSCALE, "-m", "bicubic", "-s", "2", "--device", "tpu"), "tpu", 2),
    Case("upscale-input-missing", ("upscale", "{root}/nope.png", "-o", "{root}/out.png", "-m", "bicubic", "-s", "2"),
         "nope.png", 2),
    Case("upscale-onto-its-input", ("upscale", "{img}", "-o", "{img}", "-m", "bicubic", "-s", "2"), "input"),
    Case("upscale-into-its-folder", ("upscale", "{root}/in", "-o", "{root}/in", "-m", "bicubic", "-s", "2"), "input"),
    Case("upscale-to-gif", (*UPSCALE[:3], "{root}/out/x.gif", "-m", "bicubic", "-s", "2"), "cannot write", 2),
    Case("upscale-to-empty-path", (*UPSCALE[:3], "", "-m", "bicubic", "-s", "2"), "is empty", 2),
    Case("upscale-model-unknown", (*UPSCALE, "-m", "nope", "-s", "2"), "nope"),
    Case("upscale-model-and-artifact", (*UP_ART, "-m", "espcn", "-s", "2"), "--artifact", 2),
    Case("upscale-weights-missing", (*UPSCALE, "-m", "espcn", "-s", "2", "-w", "{root}/nope.safetensors"),
         "nope.safetensors"),
    Case("upscale-weights-of-another-model", (*UPSCALE, "-m", "fsrcnn", "-s", "2", "-w", "{w}"), "does not fit"),
    Case("upscale-artifact-missing", (*UPSCALE[:4], "-a", "{root}/nope.onnx"), "no such artifact"),
    Case("eval-dataset-unknown", ("eval", "-m", "bicubic", "-s", "2", "-d", "Nope", "--data-root", "{data}"), "Nope"),
    Case("eval-data-root-missing", ("eval", "-m", "bicubic", "-s", "2", "-d", "Set5", "--data-root", "{root}/no"),
         "is not a folder"),
    Case("eval-json-over-weights", ("eval", "-m", "espcn", "-s", "2", "-w", "{w}", "-d", "Set5",
                                    "--data-root", "{data}", "--json", "{w}"), "input"),
    Case("export-format-unknown", (*EXPORT[:8], "nope", *EXPORT[9:]), "nope"),
    Case("export-precision-unknown", (*EXPORT, "-p", "int9"), "int9"),
    Case("export-input-size-zero", (*EXPORT, "--input-size", "0x0"), "0x0", 2),
    Case("export-input-size-words", (*EXPORT, "--input-size", "big"), "big", 2),
    Case("export-input-size-too-big", (*EXPORT, "--input-size", "8192x8192"), "needs about"),
    Case("export-into-a-file", (*EXPORT[:10], "{img}", *EXPORT[11:]), "a.png", 2),
    Case("export-into-the-check-set", (*EXPORT[:10], "{data}/Set5", *EXPORT[11:]), "holds input images"),
    Case("export-into-the-calibration-set", (*EXPORT, "-p", "int8", "--no-check", "--calib-data", "{root}/in",
                                             "-o", "{root}/in"), "holds input images"),
    Case("export-calib-images-zero", (*EXPORT, "-p", "int8", "--calib-images", "0"), "0", 2),
    Case("bench-threads-1000", (*BENCH, "--threads", "1000"), "cores"),
    Case("bench-format-unknown", (*BENCH[:6], "nope", *BENCH[7:]), "nope"),
    Case("bench-scale-not-shipped", ("bench", "-m", "fsrcnn", "--scales", "2", *BENCH[5:]), "only x4 is shipped"),
    Case("bench-precision-unknown", (*BENCH, "-p", "int9"), "int9"),
    Case("bench-input-size-negative", (*BENCH, "--input-size", "-3x3"), "-3x3", 2),
    Case("bench-into-the-data", (*BENCH[:-1], "{data}/Set5"), "input"),
    Case("bench-min-runs-zero", (*BENCH, "--min-runs", "0"), "0", 2),
    Case("info-missing", ("info", "{root}/nope.onnx"), "nope.onnx", 2),
    Case("info-not-an-artifact", ("info", "{img}"), "a.png"),
    Case("compare-unknown-side", ("compare", "nope", "bicubic", "--data-root", "{data}"), "nope"),
    Case("asymmetrize-onto-itself", ("asymmetrize", "{w}", "{w}"), "input"),
    Case("asymmetrize-not-vdsr", ("asymmetrize", "{w}", "{root}/asym.safetensors", "--data-root", "{data}"), "vdsr"),
    Case("serve-port-out-of-range", ("serve", "{a}", "--port", "70000"), "70000", 2),
    Case("serve-not-onnx", ("serve", "{img}", "--port", "0"), "a.png"),
    # weights files: their metadata never chooses code, and is checked before use
    Case("weights-names-a-file", ("upscale", "{img}", "-o", "{root}/out.png", "-w", "{root}/m.safetensors"),
         "names its model by code", setups=(_weights_with({"model": "evil.py:factory"}), _evil_beside)),
    Case("weights-names-a-module", ("upscale", "{img}", "-o", "{root}/out.png", "-w", "{root}/m.safetensors"),
         "names its model by code", setup=_weights_with({"model": "os:system"})),
    Case("weights-names-an-unknown-model", ("upscale", "{img}", "-o", "{root}/out.png", "-w", "{root}/m.safetensors"),
         "unknown model", setup=_weights_with({"model": "nope"})),
    Case("weights-scale-not-a-number", ("upscale", "{img}", "-o", "{root}/out.png", "-w", "{root}/m.safetensors"),
         "m.safetensors", setup=_weights_with({"model": "espcn", "scales": "two"})),
    Case("weights-options-not-json", ("upscale", "{img}", "-o", "{root}/out.png", "-w", "{root}/m.safetensors"),
         "m.safetensors", setup=_weights_with({"model": "espcn", "options": "{not json"})),
    Case("weights-truncated", (*UPSCALE, "-m", "espcn", "-s", "2", "-w", "{root}/t.safetensors"), "t.safetensors",
         setup=lambda w: (w.root / "t.safetensors").write_bytes(w.weights.read_bytes()[:200])),
    Case("weights-text", (*UPSCALE, "-m", "espcn", "-s", "2", "-w", "{root}/t.safetensors"), "t.safetensors",
         setup=_write("t.safetensors", "hello")),
    Case("weights-pickle", (*UPSCALE, "-m", "espcn", "-s", "2", "-w", "{root}/t.pth"), "t.pth",
         setup=_write("t.pth", b"\x80\x04K\x01.")),
    # manifests and artifacts
    Case("manifest-not-json", UP_ART, "not a valid edgesr manifest", setup=lambda w: manifest_path(w.artifact).write_text("{nope")),
    Case("manifest-a-list", UP_ART, "not a valid edgesr manifest", setup=lambda w: manifest_path(w.artifact).write_text("[1, 2]")),
    Case("manifest-missing", UP_ART, "is missing", setup=lambda w: manifest_path(w.artifact).unlink()),
    Case("manifest-colour-disagrees", UP_ART, "disagree", setup=_manifest(_set("colour", "y"))),
    Case("manifest-scales-disagree", EVAL_ART, "disagree", setup=_manifest(_set("scales", [4]))),
    Case("manifest-input-size-disagrees", UP_ART, "disagree", setup=_manifest(_set_input("height", 4096))),
    Case("manifest-input-size-huge", UP_ART, "input.height", setup=_manifest(_set_input("height", 100_000))),
    Case("manifest-input-size-words", UP_ART, "input.height must be", setup=_manifest(_set_input("height", "tall"))),
    Case("manifest-format-unknown", UP_ART, "unknown format 'evil'", setup=_manifest(_set("format", "evil"))),
    Case("manifest-model-is-code", EVAL_ART, "disagree", setup=_manifest(_set("model", "evil.py:factory"))),
    Case("manifest-radius-negative", UP_ART, "receptive_radius", setup=_manifest(_set("receptive_radius", -5))),
    Case("manifest-scheme-bits-words", UP_ART, "scheme.weights.bits must be int", setup=_manifest(_set("scheme", {
        "graph": "qdq", "weights": {"bits": "8", "signed": True, "symmetric": True, "per": "channel", "ranges": "max_abs"}}))),
    Case("manifest-scheme-graph-unknown", UP_ART, "scheme.graph must be one of", setup=_manifest(_set("scheme", {
        "graph": "magic", "weights": {"bits": 8, "signed": True, "symmetric": True, "per": "channel", "ranges": "max_abs"}}))),
    Case("manifest-bytes-per-pixel-words", UP_ART, "activation_bytes_per_pixel",
         setup=_manifest(_set("activation_bytes_per_pixel", "lots"))),
    Case("manifest-bytes-per-pixel-huge", UP_ART, "activation_bytes_per_pixel",
         setup=_manifest(_set("activation_bytes_per_pixel", 10 ** 15))),
    Case("manifest-bytes-per-pixel-disagree", UP_ART, "disagree",
         setup=_manifest(_set("activation_bytes_per_pixel", 12345.0))),
    Case("manifest-channels-fraction", UP_ART, "channels", setup=_manifest(_set_input("channels", 2.5))),
    Case("manifest-scale-huge", EVAL_ART, "scales", setup=_manifest(_set("scales", [2, 10 ** 9]))),
    Case("manifest-value-range-words", UP_ART, "value_range", setup=_manifest(_set_input("value_range", ["a", "b"]))),
    Case("artifact-modified", UP_ART, "sha256",
         setup=lambda w: w.artifact.write_bytes(w.artifact.read_bytes() + b"\0")),
    Case("artifact-truncated", EVAL_ART, "nearest_x2", setup=_truncate_artifact),
    Case("info-manifest-disagrees", ("info", "{a}"), "disagree", setup=_manifest(_set("colour", "y"))),
    # images
    Case("image-random-bytes", ("upscale", "{root}/bad.png", "-o", "{root}/out.png", "-m", "bicubic", "-s", "2"),
         "bad.png", setup=_write("bad.png", bytes(range(256)) * 4)),
    Case("image-empty", ("upscale", "{root}/bad.png", "-o", "{root}/out.png", "-m", "bicubic", "-s", "2"),
         "bad.png", setup=_write("bad.png", b"")),
    Case("image-text-as-jpeg", ("upscale", "{root}/bad.jpg", "-o", "{root}/out.png", "-m", "bicubic", "-s", "2"),
         "bad.jpg", setup=_write("bad.jpg", "not an image")),
    Case("image-truncated", ("upscale", "{root}/bad.png", "-o", "{root}/out.png", "-m", "bicubic", "-s", "2"),
         "bad.png", setup=lambda w: (w.root / "bad.png").write_bytes(w.image.read_bytes()[:150])),
    Case("image-bomb-header", ("upscale", "{root}/bad.png", "-o", "{root}/out.png", "-m", "bicubic", "-s", "2"),
         "bad.png", setup=_write("bad.png", _png_claiming(100_000, 100_000))),
    Case("image-folder-empty", ("upscale", "{root}/empty", "-o", "{root}/out", "-m", "bicubic", "-s", "2"),
         "no images", 2, setup=lambda w: (w.root / "empty").mkdir()),
    Case("eval-set-with-a-corrupt-image", ("eval", "-m", "bicubic", "-s", "2", "-d", "{root}/set"), "bad.png",
         setups=(_write("set/bad.png", b"\x89PNG\r\n\x1a\n broken"),
                 lambda w: write_image(w.root / "set" / "ok.png", w.pixels))),
    # training configs
    Case("config-missing", ("train", "{root}/nope.yaml"), "nope.yaml", 2),
    Case("config-not-utf8", ("train", "{root}/bad.yaml"), "UTF-8", setup=_write("bad.yaml", b"model: \xff\xfe\n")),
    Case("config-not-yaml", ("train", "{root}/bad.yaml"), "not valid YAML", setup=_config("model: [espcn\n")),
    Case("config-a-list", ("train", "{root}/bad.yaml"), "mapping", setup=_config("- espcn\n")),
    Case("config-unknown-key", (*TRAIN, "--set", "learning_rate=1"), "learning_rate"),
    Case("config-lr-huge", (*TRAIN, "--set", "lr=.inf"), "lr"),
    Case("config-lr-words", (*TRAIN, "--set", "lr=fast"), "lr"),
    Case("config-batch-zero", (*TRAIN, "--set", "batch_size=0"), "batch_size"),
    Case("config-scale-not-served", (*TRAIN, "--set", "scales=[5]"), "scales"),
    Case("config-set-not-key-value", (*TRAIN, "--set", "lr"), "key=value"),
    Case("config-out-dir-is-the-data", (*TRAIN, "--set", "out_dir={data}/Set5"), "Set5"),
    Case("config-resume-nothing", (*TRAIN, "--resume"), "resume"),
]


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.id for c in CLI_CASES])
def test_cli(case: Case, world: World):
    for setup in (case.setup, *case.setups):
        if setup is not None:
            setup(world)
    before = _tree(world.root)
    res = CliRunner().invoke(main, [world.fill(a) for a in case.args])
    errors = _one_line(res.output)
    assert res.exit_code == case.code, res.output
    assert "Traceback" not in res.output and len(errors) == 1, res.output
    assert case.expect in errors[0], res.output
    assert _tree(world.root) == before, "a refused command left or changed a file"


# --- the Python API ----------------------------------------------------------------------------------------------
API_CASES = [  # (id, a call of the edgesr module e with a good image img in the world w, what the error names)
    ("model-a-number", lambda e, img, w: e.upscale(5, img, scale=2), "model"),
    ("model-unknown", lambda e, img, w: e.upscale("nope", img, scale=2), "nope"),
    ("model-code-string", lambda e, img, w: e.upscale("os:system", img, scale=2), "os"),
    ("image-none", lambda e, img, w: e.upscale("bicubic", None, scale=2), "image"),
    ("image-empty", lambda e, img, w: e.upscale("bicubic", np.zeros((0, 0, 3), np.uint8), scale=2), "image"),
    ("image-4d", lambda e, img, w: e.upscale("bicubic", img[None], scale=2), "image"),
    ("image-5-channels", lambda e, img, w: e.upscale("bicubic", np.zeros((8, 8, 5), np.uint8), scale=2), "image"),
    ("image-float-out-of-range", lambda e, img, w: e.upscale("bicubic", img.astype(np.float32) * 9, scale=2), "image"),
    ("image-a-string-path-missing",
     lambda e, img, w: e.upscale("bicubic", str(w.root / "nope.png"), scale=2), "nope.png"),
    ("scale-a-string", lambda e, img, w: e.upscale("bicubic", img, scale="2"), "scale"),
    ("scale-not-served", lambda e, img, w: e.upscale("fsrcnn", img, scale=2), "only x4 is shipped"),
    ("tile-negative", lambda e, img, w: e.upscale("bicubic", img, scale=2, tile=-1), "tile"),
    ("threads-fraction", lambda e, img, w: e.upscale("bicubic", img, scale=2, threads=1.5), "threads"),
    ("threads-1000", lambda e, img, w: e.upscale("bicubic", img, scale=2, threads=1000), "threads"),
    ("device-a-number", lambda e, img, w: e.upscale("bicubic", img, scale=2, device=0), "device"),
    ("weights-a-number", lambda e, img, w: e.upscale("espcn", img, scale=2, weights=3), "weights"),
    ("weights-names-code",
     lambda e, img, w: e.load_model(weights=w.root / "m.safetensors"), "names its model by code"),
    ("open-runner-missing", lambda e, img, w: e.open_runner(w.root / "nope.onnx"), "nope.onnx"),
    ("evaluate-scale-string",
     lambda e, img, w: e.evaluate("bicubic", "Set5", scale="2", data_root=w.data_root), "scale"),
    ("evaluate-dataset-unknown",
     lambda e, img, w: e.evaluate("bicubic", "Nope", scale=2, data_root=w.data_root), "Nope"),
    ("export-scale-a-string",
     lambda e, img, w: e.export("espcn", "2", "onnx", w.root / "x", weights=w.weights), "scale"),
    ("export-precision-unknown",
     lambda e, img, w: e.export("espcn", 2, "onnx", w.root / "x", weights=w.weights, precision="int9"), "int9"),
    ("compare-scale-a-string",
     lambda e, img, w: e.compare("bicubic", "bicubic", "Set5", scale="2", data_root=w.data_root), "scale"),
    ("export-format-unknown",
     lambda e, img, w: e.export("espcn", 2, "nope", w.root / "x", weights=w.weights), "nope"),
]


@pytest.mark.parametrize("name, call, expect", API_CASES, ids=[c[0] for c in API_CASES])
def test_api(name, call, expect, world: World):
    _weights_with({"model": "evil.py:factory"})(world)
    _evil_beside(world)
    before = _tree(world.root)
    import edgesr

    with pytest.raises((EdgesrError, TypeError)) as info:
        call(edgesr, world.pixels, world)
    message = str(info.value)
    assert "\n" not in message.strip() and expect in message, message
    assert _tree(world.root) == before


# --- HTTP requests against edgesr serve ---------------------------------------------------------------------------
HTTP_CASES = [
    ("nul-byte", "GET", "/%00"),
    ("parent-folders", "GET", "/../../../../etc/passwd"),
    ("encoded-parent-folders", "GET", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd"),
    ("artifact-parent", "GET", "/artifact/../../w.safetensors"),
    ("artifact-another-file", "GET", "/artifact/w.safetensors"),
    ("not-found", "GET", "/nope.html"),
    ("very-long-path", "GET", "/" + "a" * 10_000),
    ("post", "POST", "/"),
    ("put", "PUT", "/config.json"),
    ("delete", "DELETE", "/app.js"),
    ("bad-percent", "GET", "/%zz"),
    ("backslashes", "GET", "/..\\..\\w.safetensors"),
    ("unknown-method", "FETCH", "/"),
]


@pytest.mark.parametrize("name, method, path", HTTP_CASES, ids=[c[0] for c in HTTP_CASES])
def test_http(name, method, path, world: World):
    from edgesr.web.server import WebServer

    with WebServer(world.artifact, port=0) as server:
        body = None if method in ("GET", "FETCH") else b"x"
        request = urllib.request.Request(server.url.rstrip("/") + path, method=method, data=body)
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                status, body = r.status, r.read()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
    assert 400 <= status < 500, (status, body[:200])
    assert b"Traceback" not in body and b"root:" not in body and world.weights.read_bytes()[:64] not in body


def test_the_docs_count_the_cases_there_are():
    import re

    repo = Path(__file__).resolve().parent.parent
    total = len(CLI_CASES) + len(API_CASES) + len(HTTP_CASES)
    assert total >= 60
    pages = [repo / "README.md", *sorted((repo / "docs").glob("*.md"))]
    counts = {page.name: re.findall(r"(\d+) hostile inputs", page.read_text()) for page in pages}
    assert counts["trust.md"], "docs/trust.md must say how many hostile inputs are tested"
    assert all(int(n) == total for found in counts.values() for n in found), (counts, total)


@pytest.mark.parametrize("layout, dtype, quantization", [
    ("NCHW", "float32", None), ("NCHW", "float16", None), ("NHWC", "int8", (1 / 255, -128)),
    ("NHWC", "uint8", (1 / 255, 0)), ("NHWC", "int16", (1 / 32767, 0)), ("image", "uint8", None)])
def test_the_manifests_edgesr_writes_pass_the_field_checks(layout, dtype, quantization, tmp_path):
    """The other side of the field checks: every tensor kind an export writes (LiteRT W8A16's int16 I/O,
    int8 and uint8 I/O, Core ML images, float16) is accepted."""
    import dataclasses

    from edgesr.manifest import read_manifest, write_manifest

    artifact = nearest_x2_artifact(tmp_path)
    manifest = read_manifest(artifact)
    tensor = dataclasses.replace(manifest.input, layout=layout, dtype=dtype, quantization=quantization)
    write_manifest(artifact, dataclasses.replace(manifest, input=tensor, output=tensor))
    assert read_manifest(artifact).input.dtype == dtype

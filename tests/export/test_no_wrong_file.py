"""Never hand back a wrong file: an export whose check fails, that cannot be checked, or that is
killed midway leaves no artifact and manifest that eval and upscale accept; corrupt artifacts and
unchecked manifests are refused in one line; the converters' chatter is held back unless a step
fails."""

import copy
import json
import os
import re
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed: pip install 'edgesr[onnx]'")

from edgesr.cli import main
from edgesr.data.io import write_image
from edgesr.errors import ArtifactError, ExportError
from edgesr.conversion import api
from edgesr.formats.registry import open_runner
from edgesr.inference import upscale
from edgesr.manifest import Manifest, Skip, TensorSpec, manifest_path, read_manifest, sha256, write_manifest

NAME = "espcn_x2_fp32_dynamic.onnx"


@pytest.fixture(scope="module")
def espcn_onnx(tmp_path_factory, weights, data_root):
    """One checked espcn x2 FP32 export, copied by the tests that change it."""
    out = tmp_path_factory.mktemp("checked")
    return api.export_model("espcn", 2, "onnx", out, weights=weights["espcn"], data_root=str(data_root))


def _copy(artifact, folder):
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(artifact, folder / artifact.name)
    shutil.copy(manifest_path(artifact), manifest_path(folder / artifact.name))
    return folder / artifact.name


def _set_check(artifact, check):
    data = json.loads(manifest_path(artifact).read_text())
    data["check"] = check
    manifest_path(artifact).write_text(json.dumps(data))


def _one_line_error(res):
    assert res.exit_code == 1, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "Traceback" not in res.output, res.output
    return lines[0]


def _visible(folder):
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_too_small_fixed_size_is_refused_up_front(tmp_path, data_root):
    """masrn reads 10 LR pixels each side at x4: a 1x1 input gave an artifact 25.5 dB from
    PyTorch (-6.57 dB on Set5; the check now fails it too). Refused before any conversion."""
    with pytest.raises(ExportError, match=r"--input-size 1x1 is smaller than masrn's receptive radius at x4 "
                                          r"\(each output pixel reads 10 input pixels on each side\); a fixed input "
                                          r"must be at least 11x11, 21x21 to give PyTorch's output exactly"):
        api.export_model("masrn", 4, "onnx", tmp_path / "api", lr_size=(1, 1), data_root=str(data_root))
    res = CliRunner().invoke(main, ["export", "-m", "masrn", "-s", "4", "-f", "onnx", "--input-size", "1x1",
                                    "-o", str(tmp_path / "cli"), "--data-root", str(data_root)])
    assert "must be at least 11x11" in _one_line_error(res)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_check_failure_leaves_the_earlier_artifact_as_it_was(tmp_path, weights, data_root, espcn_onnx, monkeypatch):
    """A converter that changes what the network computes: the check fails, the error names the
    numbers, the earlier artifact and manifest at the same path stay byte for byte, nothing else
    is left; the converter's chatter of the step that succeeded is not shown."""
    import torch

    from edgesr.formats.onnx import export as onnx_export

    real = onnx_export.export_onnx

    def changed(model, out, job):
        print("converter chatter on stdout")
        os.write(2, b"C++ chatter on fd 2\n")
        warnings.warn("a warning that reads like a failure")
        model = copy.deepcopy(model)  # the check's PyTorch reference keeps the real weights
        with torch.no_grad():
            next(model.parameters()).mul_(1.5)  # the "conversion" computes something else
        return real(model, out, job)

    earlier = _copy(espcn_onnx, tmp_path)
    before = earlier.read_bytes(), manifest_path(earlier).read_bytes()
    monkeypatch.setattr(onnx_export, "export_onnx", changed)
    res = CliRunner().invoke(main, ["export", "-m", "espcn", "-s", "2", "-f", "onnx", "-w", str(weights["espcn"]),
                                    "-o", str(tmp_path), "--data-root", str(data_root)])
    line = _one_line_error(res)
    # random weights: as close to the HR images as PyTorch (dPSNR +0.05 dB), 37.7 dB from its output
    assert re.search(r"onnx fp32 espcn x2 gave an output \d+\.\d\d dB from PyTorch's on Set5 \([+-]\d\.\d{3} dB PSNR "
                     r"against PyTorch\), below the fp32 floor of 50 dB; nothing was written; the onnx converter "
                     r"changed what the network computes", line), line
    assert "converting to onnx fp32...\n" in res.output and "checking against PyTorch on Set5: done in" in res.output
    assert "chatter" not in res.output and "reads like a failure" not in res.output
    assert (earlier.read_bytes(), manifest_path(earlier).read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [NAME, NAME + ".json"]
    assert read_manifest(earlier).check["dpsnr"] > -0.02


def test_failed_conversion_prints_what_the_converter_said(tmp_path, weights, capfd, monkeypatch):
    from edgesr.formats.onnx import export as onnx_export

    import logging
    logger = logging.getLogger("edgesr.test.converter")  # as torch and absl do: a handler of its own on stderr
    handler = logging.StreamHandler(sys.stderr)
    logger.addHandler(handler)
    monkeypatch.setattr(logger, "propagate", False)

    def broken(model, out, job):
        print("python print from the converter")
        os.write(1, b"C++ line on fd 1\n")
        logger.warning("a logged warning")
        warnings.warn("a Python warning from the converter")
        raise RuntimeError("the converter gave up\nwith a second line")

    monkeypatch.setattr(onnx_export, "export_onnx", broken)
    with pytest.raises(ExportError) as err:
        api.export_model("espcn", 2, "onnx", tmp_path, weights=weights["espcn"], check=False)
    message = str(err.value)
    assert message == ("onnx fp32 export of espcn x2 failed: RuntimeError: the converter gave up; "
                       "the converter's output is printed above")
    printed = capfd.readouterr().err
    assert "output of the failed step: converting to onnx fp32" in printed
    for said in ("python print from the converter", "C++ line on fd 1", "a logged warning",
                 "UserWarning: a Python warning from the converter"):
        assert said in printed
    assert list(tmp_path.iterdir()) == []
    logger.removeHandler(handler)


def test_verbose_shows_the_output_as_it_comes(capfd):
    from edgesr.conversion.quiet import step

    lines = []
    with step("a quiet step", lines.append):
        print("held back")
        os.write(1, b"held back too\n")
    with step("a verbose step", lines.append, verbose=True):
        print("shown")
    out = capfd.readouterr().out
    assert "held back" not in out and "shown" in out
    assert lines[0] == "a quiet step..." and lines[1].startswith("a quiet step: done in ") and lines[1].endswith(" s")


def test_no_check_set_fails_unless_no_check(tmp_path, weights, monkeypatch):
    monkeypatch.delenv("EDGESR_DATA", raising=False)
    cli = CliRunner()
    args = ["export", "-m", "espcn", "-s", "2", "-f", "onnx", "-w", str(weights["espcn"]), "-o", str(tmp_path)]
    line = _one_line_error(cli.invoke(main, args))
    assert "cannot check the export against PyTorch on Set5: no data root" in line and "--no-check" in line
    assert list(tmp_path.iterdir()) == []
    res = cli.invoke(main, args + ["--no-check"])
    assert res.exit_code == 0, res.output
    artifact = tmp_path / NAME
    assert read_manifest(artifact).check == {"skipped": "not asked for", "skip": "not_asked"}
    with open_runner(artifact) as runner:  # skipped on purpose: served
        assert upscale(runner, np.zeros((8, 8), np.uint8)).image.shape == (16, 16)
    assert sorted(p.name for p in tmp_path.iterdir()) == [NAME, NAME + ".json"]  # no temporary left


@pytest.mark.parametrize("check,refused", [({}, "check is empty"),
                                           ({"skipped": "no data root: pass --data-root DIR"}, "was skipped: no data"),
                                           ({"skipped": "not asked for"}, None),
                                           ({"skipped": "coreml does not run here (linux)"}, None),
                                           # the skip itself, whatever its words say
                                           ({"skipped": "not asked for", "skip": "not_asked"}, None),
                                           ({"skipped": "whatever the words", "skip": "not_here"}, None),
                                           ({"skipped": "not asked for", "skip": "bogus"}, "unknown skip .bogus.")])
def test_unchecked_manifests_are_refused(tmp_path, espcn_onnx, photo, check, refused):
    artifact = _copy(espcn_onnx, tmp_path)
    _set_check(artifact, check)
    if refused is None:
        open_runner(artifact)
        return
    with pytest.raises(ArtifactError, match=f"was not checked against PyTorch when it was exported .*{refused}.*re-export"):
        open_runner(artifact)
    write_image(tmp_path / "in.png", photo)
    res = CliRunner().invoke(main, ["upscale", str(tmp_path / "in.png"), "-a", str(artifact), "-o", str(tmp_path / "o.png")])
    assert "was not checked" in _one_line_error(res)
    assert not (tmp_path / "o.png").exists()


def test_corrupt_onnx_with_a_matching_hash_is_one_line(tmp_path, espcn_onnx, photo):
    artifact = _copy(espcn_onnx, tmp_path)
    artifact.write_bytes(b"garbage, not a protobuf" * 10)
    _set_sha(artifact)
    with pytest.raises(ArtifactError, match=rf"cannot load {artifact}: .*; re-export it$") as err:
        with open_runner(artifact):
            pass
    assert "\n" not in str(err.value)
    write_image(tmp_path / "in.png", photo)
    res = CliRunner().invoke(main, ["upscale", str(tmp_path / "in.png"), "-a", str(artifact), "-o", str(tmp_path / "o.png")])
    assert f"cannot load {artifact}: " in _one_line_error(res)


@pytest.mark.parametrize("fmt, suffix, layout, runtime", [("tflite", ".tflite", "NHWC", "ai_edge_litert"),
                                                           ("executorch", ".pte", "NCHW", "executorch.runtime")])
def test_corrupt_flatbuffer_is_one_line(tmp_path, fmt, suffix, layout, runtime):
    pytest.importorskip(runtime, reason=f"the {fmt} extra is not installed")
    artifact = tmp_path / f"m{suffix}"
    artifact.write_bytes(b"\x00garbage, not a flatbuffer" * 10)
    spec = TensorSpec("input", layout, "float32", 1, 24, 24)
    write_manifest(artifact, Manifest(model="espcn", scales=(2,), format=fmt, precision="fp32", colour="y",
                                      upsampling="post", input=spec, output=TensorSpec("output", layout, "float32", 1, 48, 48),
                                      artifact_sha256=sha256(artifact), weights_sha256=None,
                                      check=Skip.NOT_ASKED.check("not asked for")))
    with pytest.raises(ArtifactError, match=rf"cannot load {artifact}: .*; re-export it$") as err:
        with open_runner(artifact):
            pass
    assert "\n" not in str(err.value)


def test_onnx_cuda_without_the_provider_is_one_line(tmp_path, espcn_onnx, photo):
    import onnxruntime as ort
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("onnxruntime-gpu is installed here")
    write_image(tmp_path / "in.png", photo)
    res = CliRunner().invoke(main, ["upscale", str(tmp_path / "in.png"), "-a", str(espcn_onnx), "--device", "cuda",
                                    "-o", str(tmp_path / "o.png")])
    assert "install onnxruntime-gpu" in _one_line_error(res)


def _set_sha(artifact):
    data = json.loads(manifest_path(artifact).read_text())
    data["artifact_sha256"] = sha256(artifact)
    manifest_path(artifact).write_text(json.dumps(data))


def test_a_stop_between_artifact_and_manifest_leaves_a_refused_pair(tmp_path, espcn_onnx, monkeypatch):
    """The artifact is renamed into place first, then its manifest: a stop between leaves the new
    artifact beside the old manifest, whose sha256 no longer matches."""
    earlier = _copy(espcn_onnx, tmp_path / "out")
    hold = tmp_path / "out" / ".hold"
    staged = _copy(espcn_onnx, hold)
    with open(staged, "ab") as f:
        f.write(b"\0")  # another artifact
    _set_sha(staged)
    real, calls = os.replace, []

    def stop_after_the_artifact(src, dst):
        if calls:
            raise KeyboardInterrupt
        calls.append(dst)
        real(src, dst)

    monkeypatch.setattr(api.os, "replace", stop_after_the_artifact)
    with pytest.raises(KeyboardInterrupt):
        api._publish(staged, earlier, hold)
    monkeypatch.setattr(api.os, "replace", real)
    assert calls == [earlier]
    with pytest.raises(ArtifactError, match="sha256 differs"):
        open_runner(earlier)


def test_a_package_replaces_a_package(tmp_path):
    """Core ML packages are folders: the new one takes the old one's place whole."""
    old = tmp_path / "m.mlpackage"
    (old / "Data").mkdir(parents=True)
    (old / "Data" / "old.bin").write_bytes(b"old")
    manifest_path(old).write_text("{}")
    hold = tmp_path / ".hold"
    staged = hold / "m.mlpackage"
    (staged / "Data").mkdir(parents=True)
    (staged / "Data" / "new.bin").write_bytes(b"new")
    manifest_path(staged).write_text('{"new": 1}')
    api._publish(staged, old, hold)
    assert [p.name for p in (old / "Data").iterdir()] == ["new.bin"] and manifest_path(old).read_text() == '{"new": 1}'


@pytest.mark.slow
def test_an_export_killed_midway_leaves_nothing_accepted(tmp_path, weights, data_root):
    """kill -9 as the check starts: the artifact exists only under its temporary name, beside a
    manifest with an empty check; nothing is at the artifact's path."""
    out = tmp_path / "out"
    script = ("import os, signal, sys; from edgesr.conversion.api import export_model\n"
              "def log(line):\n"
              "    if line.startswith('checking'): os.kill(os.getpid(), signal.SIGKILL)\n"
              f"export_model('espcn', 2, 'onnx', {str(out)!r}, weights={str(weights['espcn'])!r}, "
              f"data_root={str(data_root)!r}, log=log)\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert _visible(out) == []
    staged = [p for p in out.rglob(NAME)]
    assert len(staged) == 1 and staged[0].parent.name.startswith(".")
    with pytest.raises(ArtifactError, match="check is empty"):
        open_runner(staged[0])


def test_a_killed_exports_staging_folder_is_removed_by_the_next_export(tmp_path, weights):
    """kill -9 leaves an export's staging folder behind; the next export into that folder removes it
    (its process is gone), and leaves a running export's alone."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = tmp_path / f"{api.STAGING}{gone.pid}-k9"
    stale.mkdir()
    (stale / "espcn_x2_fp32_dynamic.onnx").write_bytes(b"half written")
    running = tmp_path / f"{api.STAGING}{os.getpid()}-run"
    running.mkdir()
    artifact = api.export_model("espcn", 2, "onnx", tmp_path, weights=weights["espcn"], check=False)
    assert not stale.exists() and running.is_dir()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([artifact.name, manifest_path(artifact).name,
                                                                 running.name])

"""The rough edges a newcomer meets first (issue 39): a closed pipe ends quietly, `-` is stdout where a
file is named, one refused image is one line. Real processes and real images."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from edgesr.cli import EXIT_PIPE, main


def _edgesr(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edgesr.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, **kwargs)


def test_a_reader_that_leaves_ends_the_command_quietly(data_root):
    """`edgesr eval ... | head -1`: no "Error: Broken pipe", the status of a tool SIGPIPE ended (141)."""
    proc = _edgesr("eval", "-m", "bicubic", "-d", "Set5", "-s", "2", "--data-root", str(data_root))
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader leaves after one line; the scores of five images are still to come
    err = proc.stderr.read().decode()
    assert proc.wait() == EXIT_PIPE and err == ""
    assert first.startswith(b"bicubic x2 on Set5")


@pytest.mark.slow
def test_info_to_a_reader_already_gone_ends_quietly(data_root, tmp_path):
    """`edgesr info A | head -1`: the reader gone before the contract is written (here: before the
    command starts writing, so the write always meets a closed pipe)."""
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    from edgesr.conversion.api import export_model

    artifact = export_model("fsrcnn", 4, "onnx", tmp_path, data_root=str(data_root), check=False)
    proc = _edgesr("info", str(artifact))
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == EXIT_PIPE and err == ""


def test_json_to_stdout_with_the_table_on_stderr(data_root, tmp_path):
    proc = _edgesr("eval", "-m", "bicubic", "-d", "Set5", "-s", "2", "--json", "-", "--data-root", str(data_root),
                   cwd=tmp_path)
    out, err = proc.communicate()
    assert proc.returncode == 0, err
    scores = json.loads(out)
    assert len(scores["images"]) == 5 and abs(scores["psnr"] - 33.67) < 0.01
    assert err.decode().splitlines()[-1].startswith("mean") and list(tmp_path.iterdir()) == []  # no file named -


def test_one_refused_image_is_one_line(tmp_path):
    bad = tmp_path / "photo.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    result = CliRunner().invoke(main, ["upscale", str(bad), "-o", str(tmp_path / "out.png"), "-m", "bicubic", "-s", "2"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and lines[0].count(str(bad)) == 1, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


def test_several_images_still_go_on_past_a_refused_one(tmp_path):
    from edgesr.data.io import write_image
    import numpy as np

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "bad.png").write_bytes(b"not an image")
    write_image(tmp_path / "in" / "good.png", np.full((8, 8, 3), 128, np.uint8))
    result = CliRunner().invoke(main, ["upscale", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "-m", "bicubic",
                                       "-s", "2"])
    assert result.exit_code == 1 and (tmp_path / "out" / "good.png").is_file()
    assert "1 of 2 images failed (bad.png" in result.output.strip().splitlines()[-1]


@pytest.mark.parametrize("path", ["edgesr-bench/bench.md", "exports/masrn_x4_int8_dynamic.onnx", "site/index.html"])
def test_what_the_docs_commands_write_in_a_checkout_is_ignored(path):
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    if not (repo / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run(["git", "check-ignore", "-q", path], cwd=repo)
    assert proc.returncode == 0, f"{path} would show up as untracked in a checkout"


def test_no_stray_progress_label_in_a_log(tmp_path):
    """Bars are drawn on a terminal only: a single image cut into pieces, stderr to a pipe (a log),
    used to leave the bare label "pieces" with no line end."""
    import numpy as np

    from edgesr.data.io import write_image

    write_image(tmp_path / "photo.png", np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    proc = _edgesr("upscale", str(tmp_path / "photo.png"), "-o", str(tmp_path / "out.png"), "-m", "bicubic", "-s", "2",
                   "--tile", "16")
    out, err = proc.communicate()
    assert proc.returncode == 0 and err == b"", err
    assert out.decode().splitlines() == [f"wrote 1 image(s) x2 to {tmp_path / 'out.png'}"]

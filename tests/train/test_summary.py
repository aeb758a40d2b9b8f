"""A finished run's summary.json, read from its log (what stays tracked once its weights leave)."""

import json

import pytest

from edgesr.errors import DataError
from edgesr.train.summary import main, summarize


def test_a_log_of_two_sessions(tmp_path):
    lines = [{"event": "start", "iteration": 0, "iterations": 4, "hardware": "cpu", "warm_start": {"from": "a.st"}},
             {"iteration": 2, "loss": 0.1, "patches_per_s": 10.0, "elapsed": 60.0},
             {"iteration": 2, "val_set": "Set5", "val_psnr": {"x2": 30.0, "x4": 25.0}},
             {"event": "start", "iteration": 2, "iterations": 4, "hardware": "cpu"},
             {"iteration": 4, "loss": 0.05, "patches_per_s": 14.0, "elapsed": 7200.0},
             {"iteration": 4, "val_set": "Set5", "val_psnr": {"x2": 31.0, "x4": 24.5}}]
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    s = summarize(tmp_path)
    assert s["iterations"] == s["planned_iterations"] == 4 and s["hours"] == 2.0 and s["patches_per_s"] == 12.0
    assert [v["iteration"] for v in s["validations"]] == [2, 4] and s["best"]["iteration"] == 4  # best mean PSNR
    assert s["warm_start"] == "a.st" and len(s["sessions"]) == 2 and not s["diverged"]
    assert main([str(tmp_path)]) == 0 and json.loads((tmp_path / "summary.json").read_text()) == s


def test_no_log_or_a_broken_one_is_one_line(tmp_path, capsys):
    with pytest.raises(DataError, match="cannot read"):
        summarize(tmp_path)
    (tmp_path / "log.jsonl").write_text("{not json\n")
    assert main([str(tmp_path)]) == 1
    assert capsys.readouterr().err.count("\n") == 1 and not (tmp_path / "summary.json").exists()

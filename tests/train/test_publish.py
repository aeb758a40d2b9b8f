import json

from edgesr.models import create_model
from edgesr.models.weights import save_weights
from edgesr.train.publish import publish_weights, results_table


def test_publish_and_table(tmp_path, data_root):
    run = tmp_path / "run"
    save_weights(create_model("espcn", scale=3), run / "best.safetensors")
    (run / "config.json").write_text(json.dumps({"model": "espcn", "scales": [3]}))
    (run / "log.jsonl").write_text(
        json.dumps({"event": "start", "world_size": 1, "device": "cpu", "hardware": "1 x CPU test"}) + "\n"
        + json.dumps({"iteration": 10, "loss": 0.1, "elapsed": 36.0}) + "\n")
    dest = tmp_path / "pretrained"
    info_path = publish_weights(run, data_root=str(data_root), dest=dest, sets=("Set5",))
    info = json.loads(info_path.read_text())
    assert info_path.name == "espcn_x3.json" and (dest / "espcn_x3.safetensors").is_file()
    psnr, ssim = info["scores"]["Set5"]["x3"]
    assert 5 < psnr < 40 and 0 < ssim <= 1
    assert info["iterations"] == 10 and info["hardware"] == ["1 x CPU test"]
    table = results_table(dest)
    assert "| x3 | Set5 | 30.39 | 33.16 | 33.66 |" in table and f"{psnr:.2f}" in table
    assert "| espcn_x3 | 1 x CPU test | 10 | 0.01 h |" in table


def _fake_run(run, cfg, iterations, seconds, hardware):
    run.mkdir(parents=True)
    save_weights(create_model("espcn", scale=3), run / "last.safetensors")
    (run / "config.json").write_text(json.dumps({"model": "espcn", "scales": [3], **cfg}))
    (run / "log.jsonl").write_text(
        json.dumps({"event": "start", "world_size": 1, "device": "cpu", "hardware": hardware}) + "\n"
        + json.dumps({"iteration": iterations, "loss": 0.1, "elapsed": seconds}) + "\n")


def test_publish_counts_the_warm_start_chain(tmp_path, data_root):
    """A fine-tune of a fine-tune: iterations and time are the chain's, each run listed, oldest first."""
    _fake_run(tmp_path / "runs" / "a", {}, 100, 3600.0, "1 x CPU a")
    _fake_run(tmp_path / "runs" / "b", {"init": "runs/a/last.safetensors"}, 50, 1800.0, "1 x CPU b")
    _fake_run(tmp_path / "runs" / "c", {"init": "runs/b/last.safetensors"}, 20, 720.0, "1 x CPU b")
    from edgesr.train.summary import write_summary

    write_summary(tmp_path / "runs" / "a")  # a finished run as a clone holds it: its summary, not its log
    (tmp_path / "runs" / "a" / "log.jsonl").unlink()
    dest = tmp_path / "pretrained"
    info = json.loads(publish_weights(tmp_path / "runs" / "c", which="last", data_root=str(data_root),
                                      dest=dest, sets=("Set5",)).read_text())
    assert info["iterations"] == 170 and info["train_seconds"] == 6120.0
    assert [s["iterations"] for s in info["stages"]] == [100, 50, 20]
    assert [s["run"] for s in info["stages"]][:2] == ["runs/a", "runs/b"]  # as the configs name them
    assert info["hardware"] == ["1 x CPU a", "1 x CPU b"]
    assert "| espcn_x3 | 1 x CPU a, 1 x CPU b | 170 (100 + 50 + 20 in 3 runs) | 1.70 h |" in results_table(dest)
    assert not list(dest.glob(".*part"))


def test_scores_are_kept_per_set_and_scale_for_the_same_weights(tmp_path, data_root):
    """A cut publish resumes: what was scored for these weights is read back, not scored again;
    other weights (another sha256) are scored afresh."""
    from edgesr.train.publish import measure_weights

    weights, cache = tmp_path / "w.safetensors", tmp_path / "scores.json"
    save_weights(create_model("espcn", scale=3), weights)
    first = measure_weights("espcn", weights, (3,), str(data_root), ("Set5",), cache=cache)
    kept = json.loads(cache.read_text())
    assert kept["scores"] == first and len(kept["weights_sha256"]) == 64
    kept["scores"]["Set5"]["x3"] = [99.0, 0.5]  # a marker: read back means not scored again
    cache.write_text(json.dumps(kept))
    assert measure_weights("espcn", weights, (3,), str(data_root), ("Set5",), cache=cache) == {"Set5": {"x3": [99.0, 0.5]}}
    save_weights(create_model("espcn", scale=3), weights)  # new weights: the marker no longer applies
    again = measure_weights("espcn", weights, (3,), str(data_root), ("Set5",), cache=cache)
    assert again["Set5"]["x3"][0] < 99

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

from pathlib import Path

import pytest

from edgesr.errors import ConfigError
from edgesr.train.config import TrainConfig, load_config, make_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_configs_load(path):
    cfg = load_config(path)
    assert isinstance(cfg, TrainConfig) and cfg.model in path.stem


def test_unknown_key_is_an_error(tmp_path):
    (tmp_path / "c.yaml").write_text("model: vdsr\nlearning_rate: 0.1\n")
    with pytest.raises(ConfigError, match="unknown config key.*learning_rate"):
        load_config(tmp_path / "c.yaml")


def test_overrides_and_types(tmp_path):
    (tmp_path / "c.yaml").write_text("model: masrn\nscales: [2, 3, 4]\n")
    cfg = load_config(tmp_path / "c.yaml", ["lr=2e-4", "scales=[2,4]", "ema=0.99", "grad_clip=null", "iterations=10"])
    assert cfg.lr == 2e-4 and cfg.scales == (2, 4) and cfg.ema == 0.99 and cfg.grad_clip is None
    with pytest.raises(ConfigError, match="iterations must be int"):
        load_config(tmp_path / "c.yaml", ["iterations=many"])
    with pytest.raises(ConfigError, match="key=value"):
        load_config(tmp_path / "c.yaml", ["lr"])


def test_frozen_and_validated():
    cfg = make_config({"model": "vdsr"})
    with pytest.raises(AttributeError):
        cfg.lr = 1.0  # type: ignore[misc]
    with pytest.raises(ConfigError, match="divisible"):
        make_config({"model": "masrn", "scales": [3], "patch_size": 64})
    with pytest.raises(ConfigError, match="loss"):
        make_config({"model": "vdsr", "loss": "huber"})
    with pytest.raises(ConfigError, match="name a model"):
        make_config({})


def test_bad_files(tmp_path):
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(tmp_path / "list.yaml")
    (tmp_path / "bad.yaml").write_text("model: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(tmp_path / "bad.yaml")


def test_scale_turns():
    from edgesr.train.config import make_config as mk

    assert mk({"model": "masrn", "scales": [2, 3, 4]}).turns == (2, 3, 4)
    assert mk({"model": "masrn", "scales": [2, 3, 4], "scale_turns": [2, 3, 4, 3]}).turns == (2, 3, 4, 3)
    with pytest.raises(ConfigError, match="scale_turns .* must use every scale"):
        mk({"model": "masrn", "scales": [2, 3, 4], "scale_turns": [2, 3]})

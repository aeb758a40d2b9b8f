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
    (tmp_path / "latin1.yaml").write_bytes("model: espcn\nout_dir: caf\xe9\n".encode("latin-1"))  # issue 36
    with pytest.raises(ConfigError, match=r"latin1.yaml is not UTF-8 text \(byte 25\); save it as UTF-8 YAML"):
        load_config(tmp_path / "latin1.yaml")


def test_scale_turns():
    from edgesr.train.config import make_config as mk

    assert mk({"model": "masrn", "scales": [2, 3, 4]}).turns == (2, 3, 4)
    assert mk({"model": "masrn", "scales": [2, 3, 4], "scale_turns": [2, 3, 4, 3]}).turns == (2, 3, 4, 3)
    with pytest.raises(ConfigError, match="scale_turns .* must use every scale"):
        mk({"model": "masrn", "scales": [2, 3, 4], "scale_turns": [2, 3]})


@pytest.mark.parametrize("item, message", [
    ("scales=[0]", "scales: espcn serves 2, 3, 4, got 0"),
    ("scales=[5]", "scales: espcn serves 2, 3, 4, got 5"),
    ("scales=[2, 4]", "espcn is built for one scale"),
    ("scales=[]", "scales must name at least one scale"),
    ("val_every=0", "val_every must be an integer >= 1, got 0"),
    ("log_every=0", "log_every must be an integer >= 1, got 0"),
    ("checkpoint_every=-1", "checkpoint_every must be an integer >= 1, got -1"),
    ("patch_size=0", "patch_size must be an integer >= 1, got 0"),
    ("batch_size=0", "batch_size must be an integer >= 1, got 0"),
    ("iterations=0", "iterations must be an integer >= 1, got 0"),
    ("step_size=0", "step_size must be an integer >= 1, got 0"),
    ("threads=-3", "threads must be an integer >= 0, got -3"),
    ("warmup=-10", "warmup must be an integer >= 0, got -10"),
    ("seed=-1", "seed must be an integer >= 0, got -1"),
    ("lr=0", "lr must be a finite number > 0, got 0.0"),
    ("lr=-1e-4", "lr must be a finite number > 0, got -0.0001"),
    ("lr=.inf", "lr must be a finite number > 0, got inf"),
    ("lr=.nan", "lr must be a finite number > 0, got nan"),
    ("lr=inf", "lr must be a finite number > 0, got inf"),  # a string YAML leaves unread
    ("gamma=0", "gamma must be a number in (0, 1], got 0.0"),
    ("gamma=2", "gamma must be a number in (0, 1], got 2.0"),
    ("min_lr=-1e-6", "min_lr must be a finite number >= 0, got -1e-06"),
    ("min_lr=1", "min_lr must be in [0, lr = 0.0001] for the cosine schedule, got 1.0"),
    ("grad_clip=0", "grad_clip must be a finite number > 0 (or null for none), got 0.0"),
    ("grad_clip=.inf", "grad_clip must be a finite number > 0 (or null for none), got inf"),
    ("ema=1", "ema must be a number in (0, 1) (or null for none), got 1.0"),
    ("ema=0", "ema must be a number in (0, 1) (or null for none), got 0.0"),
    ("device=gpu", "device must be auto, cpu or cuda, got 'gpu'"),
    ("precision=fp16", "precision must be auto, float32, bfloat16, got 'fp16'"),
    ("augment=[mixup]", "augment must list some of flip, rot90 (once each; [] for none), got ['mixup']"),
    ("model=nope", "model: unknown model 'nope'"),
])
def test_bad_values_are_refused_naming_key_and_range(tmp_path, item, message):
    (tmp_path / "c.yaml").write_text("model: espcn\nscales: [2]\npatch_size: 24\n")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "c.yaml", [item])
    assert message in str(info.value) and "\n" not in str(info.value)


def test_masrn_scales_and_turns_are_checked():
    with pytest.raises(ConfigError, match="scales: masrn serves 2, 3, 4, got 8"):
        make_config({"model": "masrn", "scales": [2, 8]})
    with pytest.raises(ConfigError, match="must not repeat"):
        make_config({"model": "masrn", "scales": [2, 2]})
    with pytest.raises(ConfigError, match="scales: masrn serves 2, 3, 4, got 0"):
        make_config({"model": "masrn", "scales": [2], "scale_turns": [2, 0]})
    # the values at the edges of each range are accepted
    cfg = make_config({"model": "masrn", "scales": [2, 4], "threads": 0, "warmup": 0, "seed": 0, "gamma": 1,
                       "min_lr": 0, "val_every": 1, "log_every": 1, "checkpoint_every": 1, "step_size": 1})
    assert cfg.gamma == 1.0 and cfg.threads == 0


def test_bfloat16_with_qat_is_refused():
    with pytest.raises(ConfigError, match="precision: bfloat16 would round what QAT simulates"):
        make_config({"model": "masrn", "scales": [2], "qat": {}, "precision": "bfloat16"})
    assert make_config({"model": "masrn", "scales": [2], "qat": {}}).precision == "auto"  # auto: float32 under QAT

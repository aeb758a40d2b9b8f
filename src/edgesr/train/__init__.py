"""Training: config, patches, the loop and resumable checkpoints."""

from edgesr.train.config import TrainConfig, load_config
from edgesr.train.trainer import TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "load_config", "train"]

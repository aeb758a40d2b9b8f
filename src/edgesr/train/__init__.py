"""Training: config, patches, the loop and resumable checkpoints. Reading a config does not import
PyTorch (``train`` does, when first used)."""

from edgesr.train.config import TrainConfig, load_config

__all__ = ["TrainConfig", "TrainResult", "load_config", "train"]


def __getattr__(name: str):
    if name in ("TrainResult", "train"):
        from edgesr.train import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'edgesr.train' has no attribute {name!r}")

"""Generic model fitting: devices, precision, DDP, checkpoints and the task modules.

Importing the package loads only the torch-free settings (:class:`TrainConfig`,
:class:`ImageTrainConfig`); the device helpers load torch when first used.
"""

from training.config import ImageTrainConfig, TrainConfig

__all__ = [
    "ImageTrainConfig",
    "TrainConfig",
    "resolve_accelerator",
    "resolve_precision",
    "select_device",
]


def __getattr__(name: str):
    if name in ("resolve_accelerator", "resolve_precision", "select_device"):
        from training import devices

        return getattr(devices, name)
    raise AttributeError(f"module 'training' has no attribute {name!r}")

"""Generic model fitting: devices, precision, DDP, checkpoints and the task modules."""

from training.config import TrainConfig
from training.devices import resolve_accelerator, resolve_precision, select_device

__all__ = ["TrainConfig", "resolve_accelerator", "resolve_precision", "select_device"]

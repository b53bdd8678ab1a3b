"""The knobs of a training run, shared by every task (forecasting, inspection)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from training.devices import ACCELERATORS, PRECISIONS


@dataclass
class TrainConfig:
    """How to fit a model: device, precision, schedule, stopping, checkpoints, seed.

    ``batches_per_epoch`` fixes the cost of an epoch (as GluonTS does) so it does not grow with
    the number of series; tasks whose data is a finite set (images) may leave it ``None``.
    """

    max_epochs: int = 30
    batches_per_epoch: int | None = 50
    batch_size: int = 128
    learning_rate: float = 3e-3
    weight_decay: float = 0.0
    gradient_clip_val: float | None = 1.0
    early_stopping_patience: int | None = 5
    accelerator: str = "auto"
    devices: int | str = "auto"
    num_nodes: int = 1
    precision: str = "auto"
    seed: int = 0
    deterministic: bool = True
    progress_bar: bool = True
    num_workers: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        positive = {
            "max_epochs": self.max_epochs,
            "batch_size": self.batch_size,
            "num_nodes": self.num_nodes,
        }
        for name, value in positive.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        if self.batches_per_epoch is not None and self.batches_per_epoch < 1:
            raise ValueError(f"batches_per_epoch: expected >= 1, got {self.batches_per_epoch!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate: expected > 0, got {self.learning_rate!r}")
        if self.accelerator not in ACCELERATORS:
            raise ValueError(
                f"accelerator: expected one of {ACCELERATORS}, got {self.accelerator!r}"
            )
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision: expected one of {PRECISIONS}, got {self.precision!r}")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"training config: unknown keys {unknown}; known keys: {sorted(known)}"
            )
        return cls(**values)

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        with open(path) as fh:
            return cls.from_dict(yaml.safe_load(fh) or {})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

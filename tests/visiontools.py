"""Helpers shared by the inspection tests."""

from __future__ import annotations

import torch

from training import ImageTrainConfig
from training.inspect_task import InspectionTask
from vision.augment import AugmentSpec
from vision.config import ModelSpec
from vision.datasets import TensorItems
from vision.run import build_net


def tiny_task(n_items: int, **options) -> InspectionTask:
    """An :class:`InspectionTask` of a one-class, one-view 32 px network on blank items."""
    net = build_net(ModelSpec(width=8, image_size=32, head_dim=16), ["a"], ["v"])
    data = TensorItems(
        torch.zeros(n_items, 1, 1, 32, 32, dtype=torch.uint8), torch.zeros(n_items, 1)
    )
    return InspectionTask(
        net,
        class_names=["a"],
        train_set=data,
        val_set=data,
        cfg=ImageTrainConfig(),
        augment=AugmentSpec(),
        **options,
    )

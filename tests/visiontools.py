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


def pair_auroc(labels, scores) -> float:
    """The AUROC by brute force over every (defective, good) pair, ties counting a half: an
    independent reference for ``vision.metrics.auroc``."""
    pos = [s for y, s in zip(labels, scores, strict=True) if y == 1]
    neg = [s for y, s in zip(labels, scores, strict=True) if y == 0]
    won = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in pos for n in neg)
    return won / (len(pos) * len(neg))

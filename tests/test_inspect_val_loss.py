"""The inspection validation loss (what checkpoints and early stopping follow with
``select_on="loss"`` or a validation set of one kind of item) is the loss of all validation
items at once, whatever the batch size: its class-balanced view term was averaged per batch,
so the same weights on the same items scored differently with another ``batch_size``."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from training import ImageTrainConfig
from training.inspect_task import InspectionTask
from vision.augment import AugmentSpec
from vision.config import ModelSpec
from vision.datasets import TensorItems, collate_items
from vision.run import build_net


class ViewLabelled(TensorItems):
    """Items whose one view carries the item's labels (so the balanced view term counts)."""

    def __getitem__(self, index: int) -> dict:
        sample = super().__getitem__(index)
        sample["view_labels"] = self.labels[index][None, :].clone()
        sample["view_label_mask"] = torch.ones(1)
        return sample


def _data() -> ViewLabelled:
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (12, 1, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = torch.zeros(12, 2)
    labels[[0, 5], 0] = 1.0  # few positives: most batches of 3 hold none of a class
    labels[[1, 2, 9], 1] = 1.0
    return ViewLabelled(images, labels)


def _task(data: ViewLabelled, batch_size: int) -> InspectionTask:
    torch.manual_seed(0)
    net = build_net(ModelSpec(width=8, image_size=32, head_dim=8), ["a", "b"], ["v"]).eval()
    return InspectionTask(
        net,
        class_names=["a", "b"],
        train_set=data,
        val_set=data,
        cfg=ImageTrainConfig(batch_size=batch_size),
        augment=AugmentSpec(),
    )


def _validation_loss(batch_size: int) -> float:
    data = _data()
    task = _task(data, batch_size)
    task._trainer = SimpleNamespace(world_size=1, global_rank=0)
    logged: dict = {}
    task.log = lambda name, value, **kw: logged.__setitem__(name, float(value))
    task.on_validation_epoch_start()
    with torch.no_grad():
        for b, lo in enumerate(range(0, len(data), batch_size)):
            batch = collate_items([data[i] for i in range(lo, min(lo + batch_size, len(data)))])
            task.validation_step(batch, b)
        task.on_validation_epoch_end()
    return logged["val_loss"]


def _reference() -> float:
    """Item BCE (pos_weight 1) over every item and class, plus half the view BCE averaged
    separately over all positive and all negative views of each class (numpy)."""
    data = _data()
    task = _task(data, 12)
    batch = collate_items([data[i] for i in range(len(data))])
    with torch.no_grad():
        item_logits, view_logits, _, _ = task.model._forward(
            batch["images"].float() / 255, batch["view_mask"], batch["catalog"]
        )
    y = data.labels.numpy().astype(np.float64)

    def bce(x, t):
        return np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))

    item = bce(item_logits.double().numpy(), y).mean()
    view = bce(view_logits[:, 0].double().numpy(), y)
    per_class = [(view[y[:, k] == 1, k].mean() + view[y[:, k] == 0, k].mean()) / 2 for k in (0, 1)]
    return float(item + 0.5 * np.mean(per_class))


@pytest.mark.parametrize("batch_size", [12, 5, 3])
def test_the_validation_loss_does_not_depend_on_the_batch_size(batch_size):
    assert _validation_loss(batch_size) == pytest.approx(_reference(), rel=1e-5)

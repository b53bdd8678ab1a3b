"""The inspection data loaders leave torch's global generator alone, so the worker count does not
change a seed's run.

The augmentation draws from torch's global generator (which the trainer seeds). Iterating a
DataLoader that has no generator of its own drew its workers' base seed from that generator:
once per epoch with ``num_workers=0``, once per run with persistent workers. So the same seed
fitted different weights with 0 and 2 workers (tiny tunnel, 2 epochs: reject thresholds
0.54987 / 0.45333 / 0.51701 / 0.63381 against 0.54763 / 0.45251 / 0.51734 / 0.63282).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from training.config import TrainConfig
from training.inspect_task import InspectionTask


def _item(index: int) -> dict:
    return {
        "images": torch.zeros(1, 3, 4, 4, dtype=torch.uint8),
        "view_mask": torch.ones(1),
        "catalog": torch.zeros(1),
        "labels": torch.zeros(1),
        "view_labels": torch.zeros(1, 1),
        "view_label_mask": torch.zeros(1, 1),
        "view_bits": torch.zeros(1, dtype=torch.int64),
        "index": index,
        "errors": [],
        "view_errors": [],
    }


@pytest.mark.parametrize(
    ("balanced", "batches_per_epoch"), [(False, None), (False, 2), (True, None)]
)
@pytest.mark.parametrize("train", [True, False])
def test_iterating_the_loaders_draws_nothing_from_the_global_generator(
    train, balanced, batches_per_epoch
):
    dataset = [_item(i) for i in range(8)]
    cfg = TrainConfig(batch_size=4, batches_per_epoch=batches_per_epoch, num_workers=0, seed=3)
    task = SimpleNamespace(
        trainer=None, cfg=cfg, sample_weights=np.ones(len(dataset)) if balanced else None
    )
    loader = InspectionTask._loader(task, dataset, train)
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    for _epoch in range(2):
        batches = [batch["index"] for batch in loader]
        assert sum(len(b) for b in batches) >= 4
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize(
    ("balanced", "batches_per_epoch"), [(False, None), (False, 2), (True, None)]
)
def test_an_epoch_draws_the_same_batches_however_far_the_last_one_was_read(
    balanced, batches_per_epoch
):
    """Persistent workers read a pass to its end ahead of the trainer, which stops after
    ``len(loader)`` batches: the next epoch's batches must not depend on it (they did: with
    19 items in batches of 8, reading past the last batch drew one more permutation)."""
    dataset = [_item(i) for i in range(19)]
    cfg = TrainConfig(batch_size=8, batches_per_epoch=batches_per_epoch, num_workers=0, seed=3)
    task = SimpleNamespace(
        trainer=None, cfg=cfg, sample_weights=np.ones(len(dataset)) if balanced else None
    )
    epochs = []
    for read_past_the_end in (False, True):
        loader = InspectionTask._loader(task, dataset, True)
        batches = iter(loader)
        first = [next(batches)["index"] for _ in range(len(loader))]
        if read_past_the_end:
            assert next(batches, None) is None
        epochs.append((first, [batch["index"] for batch in loader]))
    assert epochs[0] == epochs[1]
    assert epochs[0][0] != epochs[0][1]  # epochs draw afresh

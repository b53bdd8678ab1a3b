"""Checkpoint selection on ``val_selection`` (README: the any-defect validation AUROC, "ties
broken by the validation items' binary cross-entropy of their class scores"). The value was
logged as a Python float, which Lightning stores as float32: near an AUROC of 1 its steps are
6e-8, while the loss term is at most 0.25 / (defective x good items), so on a few hundred
validation items a lower loss at the same AUROC read as no improvement: the first epoch's
weights were kept and early stopping counted the better epochs against the patience."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import training.inspect_task as it
from training.config import TrainConfig
from vision.augment import AugmentSpec
from vision.config import ModelSpec
from vision.datasets import TensorItems

N = 200  # defective and good validation items each: 40,000 pairs
SURE = (0.9, 0.9015, 0.903, 0.9045)  # per epoch: every pair ranked right, BCE 0.105 -> 0.100


def _selection(q: float) -> float:
    """The documented rule in float64: AUROC 1 minus min(1e-3, 0.25 / pairs) x b / (1 + b)."""
    bce = -np.log(q)
    return 1.0 - min(1e-3, 0.25 / (N * N)) * bce / (1.0 + bce)


def test_a_lower_validation_loss_at_the_same_auroc_selects_the_later_epoch(tmp_path, monkeypatch):
    torch.set_num_threads(1)
    labels = torch.cat([torch.ones(N), torch.zeros(N)])[:, None].double()

    def validation_step(self, batch, batch_idx):
        # Stands in for the network's validation outputs of this epoch (the whole set at once).
        if batch_idx == 0:
            q = SURE[self.current_epoch]
            probs = torch.where(labels > 0.5, q, 1 - q)
            self._val_outputs.append((probs, labels.float()))

    monkeypatch.setattr(it.InspectionTask, "validation_step", validation_step)
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (4, 1, 3, 32, 32), dtype=torch.uint8, generator=g)
    items = TensorItems(images, torch.tensor([[0.0], [1.0], [0.0], [1.0]]))
    cfg = TrainConfig(
        max_epochs=len(SURE),
        batches_per_epoch=None,
        batch_size=4,
        accelerator="cpu",
        early_stopping_patience=2,
        progress_bar=False,
        learning_rate=1e-3,
    )
    fitted = it.fit_inspector(
        items,
        items,
        spec=ModelSpec(width=8, image_size=32, head_dim=8),
        class_names=("a",),
        view_names=("v",),
        cfg=cfg,
        run_dir=tmp_path / "run",
        augment=AugmentSpec(),
        val_labels=np.array([[0.0], [1.0]]),
    )
    expected = [_selection(q) for q in SURE]
    assert np.all(np.diff(expected) > 0)  # each epoch is better by the documented rule
    assert fitted.monitor == "val_selection"
    assert not fitted.result.stopped_early
    assert fitted.result.best_score == pytest.approx(expected[-1], rel=0, abs=1e-12)

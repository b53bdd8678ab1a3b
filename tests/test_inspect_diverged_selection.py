"""An inspection fit that follows the validation AUROC (``val_selection``) and whose network
diverges part-way (NaN scores) stops on it and ends on the best epoch's weights, as a fit that
follows the validation loss does. The selection was left out of the epoch's metrics when the
AUROC was NaN, and Lightning failed the whole fit: "Early stopping conditioned on metric
`val_selection` which is not available" when it diverged in the first epoch, and otherwise read
the epoch before's score and trained on NaN weights until its patience ran out. A network that
diverged from its first epoch (no finite score, NaN weights) is refused."""

from __future__ import annotations

import math

import lightning.pytorch as pl
import pytest
import torch

import training.inspect_task as it
from training.config import TrainConfig
from vision.augment import AugmentSpec
from vision.config import ModelSpec
from vision.datasets import TensorItems

SPEC = ModelSpec(width=8, image_size=32, head_dim=8)


def _items(n: int = 16) -> TensorItems:
    g = torch.Generator().manual_seed(0)
    defective = torch.arange(n) % 2 == 1
    base = torch.where(defective, 200, 40).view(n, 1, 1, 1, 1)
    noise = torch.randint(0, 30, (n, 1, 3, 32, 32), generator=g)
    return TensorItems((base + noise).clamp(0, 255).to(torch.uint8), defective.float()[:, None])


def _fit(items: TensorItems, cfg: TrainConfig, tmp_path, **kwargs):
    """One binary class, one view, the items as their own validation set."""
    return it.fit_inspector(
        items,
        items,
        spec=SPEC,
        class_names=("defect",),
        view_names=("v",),
        cfg=cfg,
        run_dir=tmp_path / "run",
        augment=AugmentSpec(),
        val_labels=items.labels.numpy(),
        **kwargs,
    )


class _DivergeAt(pl.Callback):
    """Makes every weight NaN before the first batch of epoch ``epoch`` (a diverged step)."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_train_batch_start(self, trainer, task, batch, batch_idx) -> None:
        if trainer.current_epoch == self.epoch and batch_idx == 0:
            with torch.no_grad():
                for p in task.model.parameters():
                    p.fill_(float("nan"))


def test_a_network_diverging_after_its_first_epoch_ends_on_that_epochs_weights(
    tmp_path, monkeypatch
):
    torch.set_num_threads(1)
    real_fit = it.fit
    scores: list[float] = []

    def fit_with(task, cfg, run_dir, **kwargs):
        result = real_fit(task, cfg, run_dir, callbacks=[_DivergeAt(1)], **kwargs)
        scores.append(float(task.trainer.callback_metrics["val_selection"]))
        return result

    monkeypatch.setattr(it, "fit", fit_with)
    items = _items()
    cfg = TrainConfig(
        max_epochs=4,
        batches_per_epoch=None,
        batch_size=8,
        accelerator="cpu",
        early_stopping_patience=3,
        progress_bar=False,
        learning_rate=0.01,
        seed=0,
    )
    fitted = _fit(items, cfg, tmp_path)
    assert fitted.monitor == "val_selection"
    # Stopped in the epoch whose scores were NaN (its selection NaN, not the epoch before's
    # left over: the fit trained on NaN weights until its patience ran out), on the first
    # epoch's score and weights.
    assert fitted.result.stopped_early and fitted.result.epochs == 2
    assert math.isnan(scores[0])
    assert math.isfinite(fitted.result.best_score) and 0.0 <= fitted.result.best_score <= 1.0
    assert all(bool(torch.isfinite(p).all()) for p in fitted.model.parameters())


@pytest.mark.parametrize("select_on", ["auroc", "loss"])
def test_a_network_diverged_from_its_first_epoch_is_refused(tmp_path, select_on):
    # A rate of 1e30: every validation score NaN from the first epoch. Lightning's checkpoint
    # records it as the worst score and keeps the NaN weights, which were returned as fitted
    # (every item scored NaN).
    torch.set_num_threads(1)
    items = _items()
    cfg = TrainConfig(
        max_epochs=2,
        batches_per_epoch=None,
        batch_size=8,
        accelerator="cpu",
        progress_bar=False,
        learning_rate=1e30,
        seed=0,
    )
    with pytest.raises(ValueError, match=r"training diverged.*learning_rate.*1e\+30"):
        _fit(items, cfg, tmp_path, select_on=select_on)

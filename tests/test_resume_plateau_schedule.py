"""A run resumed part-way through an epoch steps its plateau learning-rate schedule at that
epoch's end, as the uninterrupted run does (Lightning skips the step of the epoch it resumed
in), so it trains the same epochs at the same learning rates."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from training.config import TrainConfig
from training.trainer import fit

CFG = TrainConfig(
    max_epochs=7, batches_per_epoch=None, batch_size=1, early_stopping_patience=None,
    progress_bar=False, accelerator="cpu",
)  # fmt: skip
# Best at epoch 1, then worse: ReduceLROnPlateau(patience=2) halves after epoch 4 (its third
# epoch without improvement), and after epoch 6 never (its count restarts at the halving).
VAL_LOSSES = (1.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


class Scripted(pl.LightningModule):
    """A plateau schedule as ForecastTask's, on a validation loss scripted by epoch."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.lrs: dict[int, float] = {}

    def training_step(self, batch, batch_idx):
        self.lrs[self.current_epoch] = self.optimizers().param_groups[0]["lr"]
        return (self.w - batch[0]).pow(2).mean()

    def validation_step(self, batch, batch_idx):
        pass

    def on_validation_epoch_end(self):
        self.log("val_loss", VAL_LOSSES[self.current_epoch])

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=1.0)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=2)
        schedule = {"scheduler": scheduler, "monitor": "val_loss"}
        return {"optimizer": optimizer, "lr_scheduler": schedule}


class Stop(BaseException):
    pass


class StopAt(pl.Callback):
    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step >= self.step:
            raise Stop("stop")


def loader() -> DataLoader:
    return DataLoader(TensorDataset(torch.arange(3, dtype=torch.float32)), batch_size=1)


# Stopped in epoch 4 (its last batch still to train), or after its last batch before its
# validation (the resumed run validates it, then trains from epoch 5).
@pytest.mark.slow
@pytest.mark.parametrize(("stop", "first"), [(14, 4), (15, 5)])
def test_a_resumed_run_halves_its_learning_rate_where_the_uninterrupted_run_does(
    tmp_path, stop, first
):
    whole = Scripted()
    fit(whole, CFG, tmp_path / "whole", loader(), loader())
    assert whole.lrs == {0: 1.0, 1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0, 5: 0.5, 6: 0.5}
    with pytest.raises(Stop):
        fit(Scripted(), CFG, tmp_path / "run", loader(), loader(), callbacks=[StopAt(stop)])
    again = Scripted()
    kept = tmp_path / "run" / "checkpoints" / "last.ckpt"
    fit(again, CFG, tmp_path / "again", loader(), loader(), ckpt_path=kept)
    assert again.lrs == {e: lr for e, lr in whole.lrs.items() if e >= first}

"""Early stopping that ends a fit in its first epoch (a validation loss that is not finite
there: Lightning stops at once) is reported as an early stop, as in any later epoch."""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from training.config import TrainConfig
from training.trainer import fit


class NotFinite(pl.LightningModule):
    """A validation loss that is NaN from the first epoch (a diverged network)."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.epochs: set[int] = set()

    def training_step(self, batch, batch_idx):
        self.epochs.add(self.current_epoch)
        return (self.w - batch[0]).pow(2).mean()

    def validation_step(self, batch, batch_idx):
        pass

    def on_validation_epoch_end(self):
        self.log("val_loss", float("nan"))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def loader() -> DataLoader:
    return DataLoader(TensorDataset(torch.arange(2, dtype=torch.float32)), batch_size=1)


def test_a_fit_stopped_in_its_first_epoch_says_it_stopped_early(tmp_path):
    cfg = TrainConfig(
        max_epochs=5, batches_per_epoch=None, batch_size=1, early_stopping_patience=3,
        progress_bar=False, accelerator="cpu",
    )  # fmt: skip
    module = NotFinite()
    result = fit(module, cfg, tmp_path / "run", loader(), loader())
    assert module.epochs == {0}  # early stopping ended the fit after epoch 0 of 5
    assert result.epochs == 1
    assert result.stopped_early

"""The trainer's global torch settings: repeatable kernels without the cost of filling memory,
and the process's own settings given back when a fit ends."""

from __future__ import annotations

import lightning.pytorch as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from training.config import TrainConfig
from training.trainer import build_trainer, fit, torch_flags_restored


def test_cpu_training_uses_deterministic_kernels_without_filling_new_tensors(tmp_path):
    # Filling every new tensor with NaN (torch's default in deterministic mode) cost about a
    # twentieth of a TFT training step; repeatability comes from the kernels, which stay on.
    with torch_flags_restored():
        torch.utils.deterministic.fill_uninitialized_memory = True
        build_trainer(TrainConfig(accelerator="cpu", progress_bar=False), tmp_path)
        assert torch.are_deterministic_algorithms_enabled()
        assert not torch.utils.deterministic.fill_uninitialized_memory


class _Line(pl.LightningModule):
    """y = 2x, fitted by one linear layer; records the kernel setting it trained under."""

    def __init__(self):
        super().__init__()
        self.layer = torch.nn.Linear(1, 1)
        self.seen: set[bool] = set()

    def training_step(self, batch, batch_idx):
        self.seen.add(torch.are_deterministic_algorithms_enabled())
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_a_fit_trains_deterministically_and_gives_the_process_its_settings_back(tmp_path):
    x = torch.linspace(-1, 1, 32)[:, None]
    data = DataLoader(TensorDataset(x, 2 * x), batch_size=8)
    module = _Line()
    torch.use_deterministic_algorithms(False)  # torch's defaults, whatever ran before
    torch.utils.deterministic.fill_uninitialized_memory = True
    cfg = TrainConfig(max_epochs=2, accelerator="cpu", progress_bar=False)
    fit(module, cfg, tmp_path, train_dataloaders=data, val_dataloaders=data)
    assert module.seen == {True}
    after = (torch.are_deterministic_algorithms_enabled(),
             torch.utils.deterministic.fill_uninitialized_memory)  # fmt: skip
    assert after == (False, True)

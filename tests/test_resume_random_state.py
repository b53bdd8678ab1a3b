"""A run resumed from an interrupted checkpoint continues torch's random stream (dropout
masks), so with the default dropout it ends on the uninterrupted run's weights."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch

from forecasting.models import InputDims, build_network
from forecasting.synthetic import generate_network
from forecasting.windows import group_prior_scale
from training.config import TrainConfig
from training.forecast_task import ForecastData, ForecastTask
from training.trainer import fit

H = 7
CFG = TrainConfig(
    max_epochs=2, batches_per_epoch=3, batch_size=8, early_stopping_patience=None,
    progress_bar=False, accelerator="cpu",
)  # fmt: skip


class Last(pl.Callback):
    """The weights the training ended on (a fit then loads its best ones)."""

    def on_train_end(self, trainer, pl_module) -> None:
        self.step = trainer.global_step
        self.weights = {k: v.clone() for k, v in pl_module.state_dict().items()}


class Stop(BaseException):
    pass


class StopAt(pl.Callback):
    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step >= self.step:
            raise Stop("stop")


@pytest.fixture(scope="module")
def store():
    return generate_network(n_items=6, n_locations=2, n_days=120, seed=7).to_store()


def task(store, model: str) -> ForecastTask:
    torch.manual_seed(0)
    origin = int(store.end.max()) - H
    net = build_network(
        model, InputDims.from_store(store), H, (0.1, 0.5, 0.9), hidden_size=8, dropout=0.1
    )
    data = ForecastData(store, 14, H, 8, 3, origin, group_prior_scale(store, origin))
    return ForecastTask(net, (0.1, 0.5, 0.9), data)


@pytest.mark.parametrize(("model", "stop"), [("lstm", 4), ("tft", 3)])
def test_a_resumed_run_with_dropout_ends_on_the_uninterrupted_weights(store, tmp_path, model, stop):
    torch.set_num_threads(1)
    whole = Last()
    fit(task(store, model), CFG, tmp_path / "whole", callbacks=[whole])
    with pytest.raises(Stop):
        fit(task(store, model), CFG, tmp_path / "run", callbacks=[StopAt(stop)])
    kept = tmp_path / "run" / "checkpoints" / "last.ckpt"
    again = Last()
    fit(task(store, model), CFG, tmp_path / "again", callbacks=[again], ckpt_path=kept)
    assert again.step == whole.step == 6
    for name, value in whole.weights.items():
        assert torch.equal(value, again.weights[name]), name

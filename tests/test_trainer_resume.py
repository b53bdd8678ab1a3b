"""A run interrupted and resumed ends where the uninterrupted run would: on the best epoch's
weights and score (also when the interruption removed its staging folder), having trained on
the windows the uninterrupted run drew."""

from __future__ import annotations

import lightning.pytorch as pl
import pytest
import torch

from forecasting.models import InputDims, build_network
from forecasting.windows import group_prior_scale
from kernels.runfolder import building
from training.config import TrainConfig
from training.forecast_task import ForecastData, ForecastTask
from training.trainer import fit

H = 7


class Stop(BaseException):
    """What the command line raises on SIGINT / SIGTERM."""


class StopAt(pl.Callback):
    def __init__(self, step: int):
        self.step = step

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step >= self.step:
            raise Stop("stop")


@pytest.fixture(scope="module")
def store(small_network):
    return small_network.to_store()


SCORED_CFG = TrainConfig(
    max_epochs=4, batches_per_epoch=2, batch_size=16, early_stopping_patience=None,
    progress_bar=False, accelerator="cpu",
)  # fmt: skip
SCORES = (1.0, 3.0, 2.0, 2.5)  # epoch 0 is the best


class Scores(pl.Callback):
    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        pl_module.log("score", SCORES[trainer.current_epoch])


def scored_task(store) -> ForecastTask:
    torch.manual_seed(0)
    origin = int(store.end.max()) - H
    net = build_network("lstm", InputDims.from_store(store), H, (0.1, 0.5, 0.9), hidden_size=8)
    data = ForecastData(store, 28, H, 16, 2, origin, group_prior_scale(store, origin))
    return ForecastTask(net, (0.1, 0.5, 0.9), data)


def _fit(store, folder, **kwargs):
    return fit(
        scored_task(store), SCORED_CFG, folder, monitor="score", callbacks=[Scores()], **kwargs
    )


@pytest.mark.slow
@pytest.mark.parametrize("staged", [True, False])
def test_a_resumed_run_ends_on_the_best_epoch_before_its_interruption(store, tmp_path, staged):
    reference = _fit(store, tmp_path / "reference")
    best = torch.load(reference.best_checkpoint, map_location="cpu", weights_only=True)
    assert best["epoch"] == 0 and reference.best_score == 1.0

    target = tmp_path / "run"
    with pytest.raises(Stop) as stopped:
        with building(target) as folder:
            fit(
                scored_task(store),
                SCORED_CFG,
                folder,
                monitor="score",
                callbacks=[Scores(), StopAt(3)],
            )
    kept = stopped.value.checkpoint
    assert kept == tmp_path / "run.interrupted" / "last.ckpt"

    resumed = scored_task(store)
    if staged:  # the command line's --resume: the same staging folder name again
        with building(target) as folder:
            result = fit(
                resumed, SCORED_CFG, folder, monitor="score", callbacks=[Scores()], ckpt_path=kept
            )
            assert result.best_checkpoint is not None and result.best_checkpoint.is_file()
    else:  # the Python API into another folder
        result = fit(resumed, SCORED_CFG, tmp_path / "other", monitor="score", callbacks=[Scores()],
                     ckpt_path=kept)  # fmt: skip
        assert result.best_checkpoint is not None and result.best_checkpoint.is_file()
    assert result.best_score == 1.0
    for name, value in resumed.state_dict().items():
        assert torch.equal(value, best["state_dict"][name]), name


WINDOWS_CFG = TrainConfig(
    max_epochs=3, batches_per_epoch=4, batch_size=16, early_stopping_patience=None,
    progress_bar=False, accelerator="cpu",
)  # fmt: skip


class Windows(pl.Callback):
    """The demand each training step saw, by global step."""

    def __init__(self):
        self.seen: dict[int, float] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.seen[trainer.global_step] = float(batch["target"].sum())


def windows_task(store) -> ForecastTask:
    torch.manual_seed(0)
    origin = int(store.end.max()) - H
    dims = InputDims.from_store(store)
    # No dropout: its masks come from torch's global generator, which checkpoints do not keep.
    net = build_network("lstm", dims, H, (0.1, 0.5, 0.9), hidden_size=8, dropout=0.0)
    data = ForecastData(store, 28, H, 16, 4, origin, group_prior_scale(store, origin))
    return ForecastTask(net, (0.1, 0.5, 0.9), data)


@pytest.mark.slow
@pytest.mark.parametrize("stop", [4, 5])  # after an epoch's last batch; inside an epoch
def test_a_resumed_run_draws_the_windows_of_the_uninterrupted_one(store, tmp_path, stop):
    whole, seen = windows_task(store), Windows()
    fit(whole, WINDOWS_CFG, tmp_path / "whole", callbacks=[seen])
    with pytest.raises(Stop):
        fit(windows_task(store), WINDOWS_CFG, tmp_path / "run", callbacks=[StopAt(stop)])
    kept = tmp_path / "run" / "checkpoints" / "last.ckpt"
    resumed, seen_again = windows_task(store), Windows()
    fit(resumed, WINDOWS_CFG, tmp_path / "again", callbacks=[seen_again], ckpt_path=kept)
    assert seen_again.seen == {step: seen.seen[step] for step in range(stop, 12)}
    last = torch.load(tmp_path / "whole" / "checkpoints" / "last.ckpt", weights_only=True)
    again = torch.load(tmp_path / "again" / "checkpoints" / "last.ckpt", weights_only=True)
    for name, value in last["state_dict"].items():
        assert torch.equal(value, again["state_dict"][name]), name

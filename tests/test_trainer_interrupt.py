"""An interrupted fit saves a checkpoint to resume from, where its run folder's staging cannot
take it; an error saves none; ``fit(ckpt_path=...)`` resumes where the run stopped."""

from __future__ import annotations

import dataclasses

import lightning.pytorch as pl
import pytest
import torch

from forecasting.models import InputDims, build_network
from forecasting.windows import group_prior_scale
from kernels.runfolder import building, interrupted_folder
from training.config import TrainConfig
from training.forecast_task import ForecastData, ForecastTask
from training.trainer import fit

H = 7
CFG = TrainConfig(
    max_epochs=2, batches_per_epoch=4, batch_size=16, early_stopping_patience=None,
    progress_bar=False, accelerator="cpu",
)  # fmt: skip


class Stop(BaseException):
    """What the command line raises on SIGINT / SIGTERM: not an ``Exception``."""


class StopAt(pl.Callback):
    def __init__(self, step: int, error: type[BaseException] = Stop):
        self.step, self.error = step, error

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_step >= self.step:
            raise self.error("stop")


class CountSteps(pl.Callback):
    def __init__(self):
        self.steps = 0

    def on_train_batch_end(self, trainer, *args) -> None:
        self.steps += 1


@pytest.fixture(scope="module")
def store(small_network):
    return small_network.to_store()


def task(store, batches_per_epoch: int = 4, **network) -> ForecastTask:
    torch.manual_seed(0)
    origin = int(store.end.max()) - H
    dims = InputDims.from_store(store)
    net = build_network("lstm", dims, H, (0.1, 0.5, 0.9), hidden_size=8, **network)
    priors = group_prior_scale(store, origin)
    data = ForecastData(store, 28, H, 16, batches_per_epoch, origin, priors)
    return ForecastTask(net, (0.1, 0.5, 0.9), data)


@pytest.mark.slow
def test_a_staged_run_keeps_its_checkpoint_beside_its_target_and_resumes(store, tmp_path):
    staging = tmp_path / ".run.partial"
    with pytest.raises(Stop) as stopped:
        fit(task(store), CFG, staging, callbacks=[StopAt(5)])
    kept = tmp_path / "run.interrupted" / "last.ckpt"
    assert interrupted_folder(staging) == kept.parent
    assert stopped.value.checkpoint == kept  # the command line names it
    checkpoint = torch.load(kept, map_location="cpu", weights_only=False)
    assert checkpoint["global_step"] == 5 and checkpoint["optimizer_states"]

    counter = CountSteps()
    result = fit(task(store), CFG, tmp_path / "again", callbacks=[counter], ckpt_path=kept)
    assert counter.steps == 2 * 4 - 5  # only the steps the interrupted run had left
    assert result.epochs == 2 and result.best_checkpoint is not None


@pytest.mark.slow
def test_a_plain_run_folder_keeps_its_last_checkpoint(store, tmp_path):
    with pytest.raises(Stop):
        fit(task(store), CFG, tmp_path / "run", callbacks=[StopAt(3)])
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=False)
    assert checkpoint["global_step"] == 3
    assert interrupted_folder(tmp_path / "run") is None


def test_an_error_saves_no_checkpoint(store, tmp_path):
    with pytest.raises(RuntimeError):
        fit(task(store), CFG, tmp_path / ".run.partial", callbacks=[StopAt(3, RuntimeError)])
    assert not (tmp_path / "run.interrupted").exists()


def test_publishing_the_run_removes_a_stale_interrupted_checkpoint(tmp_path):
    stale = tmp_path / "run.interrupted"
    stale.mkdir()
    (stale / "last.ckpt").write_bytes(b"old")
    with building(tmp_path / "run") as folder:
        (folder / "model.pt").write_bytes(b"new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_only_a_checkpoint_of_the_same_network_resumes(store, tmp_path):
    from training.trainer import check_resumable

    (tmp_path / "notes.ckpt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match="notes.ckpt: not a resumable training checkpoint"):
        fit(task(store), CFG, tmp_path / "run", ckpt_path=tmp_path / "notes.ckpt")
    with pytest.raises(ValueError, match="no such checkpoint"):
        check_resumable(tmp_path / "none.ckpt", task(store))
    assert not (tmp_path / "run").exists()


class Scores(pl.Callback):
    """Logs a made-up validation score per epoch, so which epoch is best is known."""

    def __init__(self, scores):
        self.scores = scores

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        pl_module.log("score", self.scores[trainer.current_epoch])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scores", "reads_back"), [((3.0, 1.0, 2.0), True), ((3.0, 2.0, 1.0), False)]
)
def test_a_fit_ends_with_its_best_weights(store, tmp_path, monkeypatch, scores, reads_back):
    # The best epoch's weights are read back from its checkpoint, except when the last epoch
    # was the best: then the module already holds them and reading them again is skipped.
    import training.trainer as trainer_module

    reads = []
    load = trainer_module.load_state_dict
    monkeypatch.setattr(trainer_module, "load_state_dict", lambda p: reads.append(p) or load(p))
    fitted = task(store)
    cfg = TrainConfig(**{**CFG.__dict__, "max_epochs": 3})
    result = fit(fitted, cfg, tmp_path / "run", callbacks=[Scores(scores)], monitor="score")
    assert result.best_score == min(scores)
    best = torch.load(result.best_checkpoint, map_location="cpu", weights_only=True)
    assert best["epoch"] == scores.index(min(scores))
    for name, value in fitted.state_dict().items():
        assert torch.equal(value, best["state_dict"][name]), name
    assert bool(reads) == reads_back


SCORED_CFG = dataclasses.replace(CFG, max_epochs=4, batches_per_epoch=2)
SCORES = (1.0, 3.0, 2.0, 2.5)  # epoch 0 is the best


def _fit(module, folder, *callbacks, **kwargs):
    """``module`` fitted on SCORED_CFG, its epochs scored by SCORES."""
    callbacks = [Scores(SCORES), *callbacks]
    return fit(module, SCORED_CFG, folder, monitor="score", callbacks=callbacks, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("staged", [True, False])
def test_a_resumed_run_ends_on_the_best_epoch_before_its_interruption(store, tmp_path, staged):
    reference = _fit(task(store, batches_per_epoch=2), tmp_path / "reference")
    best = torch.load(reference.best_checkpoint, map_location="cpu", weights_only=True)
    assert best["epoch"] == 0 and reference.best_score == 1.0

    target = tmp_path / "run"
    with pytest.raises(Stop) as stopped:
        with building(target) as folder:
            _fit(task(store, batches_per_epoch=2), folder, StopAt(3))
    kept = stopped.value.checkpoint
    assert kept == tmp_path / "run.interrupted" / "last.ckpt"

    resumed = task(store, batches_per_epoch=2)
    if staged:  # the command line's --resume: the same staging folder name again
        with building(target) as folder:
            result = _fit(resumed, folder, ckpt_path=kept)
            assert result.best_checkpoint is not None and result.best_checkpoint.is_file()
    else:  # the Python API into another folder
        result = _fit(resumed, tmp_path / "other", ckpt_path=kept)
        assert result.best_checkpoint is not None and result.best_checkpoint.is_file()
    assert result.best_score == 1.0
    for name, value in resumed.state_dict().items():
        assert torch.equal(value, best["state_dict"][name]), name


WINDOWS_CFG = dataclasses.replace(CFG, max_epochs=3)


class Windows(pl.Callback):
    """The demand each training step saw, by global step."""

    def __init__(self):
        self.seen: dict[int, float] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.seen[trainer.global_step] = float(batch["target"].sum())


def windows_task(store) -> ForecastTask:
    # No dropout: its masks come from torch's global generator, which checkpoints do not keep.
    return task(store, dropout=0.0)


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

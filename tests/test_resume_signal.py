"""A SIGINT landing inside the optimizer's step (after the weights moved, before the step was
counted), or after the last training batch (the last validation's end, the final checkpoints),
or a SIGTERM at a validation's end, must still leave a checkpoint that resumes to the
uninterrupted run's weights."""

from __future__ import annotations

import dataclasses
import signal

import lightning.pytorch as pl
import numpy as np
import pandas as pd
import pytest
import torch

from forecasting import PanelSpec
from forecasting.models import InputDims, build_network
from forecasting.store import PanelStore
from forecasting.validate import validate_panel
from forecasting.windows import group_prior_scale
from training.config import TrainConfig
from training.forecast_task import ForecastData, ForecastTask
from training.trainer import fit

H = 4
CFG = TrainConfig(
    max_epochs=2, batches_per_epoch=4, batch_size=8, early_stopping_patience=None,
    progress_bar=False, accelerator="cpu",
)  # fmt: skip


class Stop(BaseException):
    """What the command line raises from its SIGINT or SIGTERM handler."""


def _raise(signum, frame):
    raise Stop(signum)


class SignalInsideStep(pl.Callback):
    """Deliver SIGINT from the optimizer's step post-hook of global step ``step`` + 1: the
    weights have moved, Lightning has not counted the step yet."""

    def __init__(self, step: int):
        self.step, self.handle = step, None

    def on_train_batch_start(self, trainer, *args) -> None:
        if trainer.global_step == self.step and self.handle is None:
            hook = lambda *a: signal.raise_signal(signal.SIGINT)  # noqa: E731
            self.handle = trainer.optimizers[0].register_step_post_hook(hook)

    def on_train_batch_end(self, trainer, *args) -> None:
        if self.handle is not None:
            self.handle.remove()


def _store(weeks: int = 40, items: int = 6) -> PanelStore:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2022-01-03", periods=weeks, freq="7D")
    frame = pd.DataFrame(
        [
            {"item_id": f"i{i}", "location_id": "l0", "date": d, "demand": float(rng.poisson(5))}
            for i in range(items)
            for d in dates
        ]
    )
    spec = PanelSpec(freq="W", calendar=False)
    clean, _ = validate_panel(frame, spec)
    return PanelStore.from_frame(clean, spec)


def _task(store: PanelStore, batches: int = 4) -> ForecastTask:
    torch.manual_seed(0)
    origin = int(store.end.max()) - H
    net = build_network("lstm", InputDims.from_store(store), H, (0.1, 0.5, 0.9), hidden_size=8)
    data = ForecastData(store, 8, H, 8, batches, origin, group_prior_scale(store, origin),
                        min_encoder_length=4)  # fmt: skip
    return ForecastTask(net, (0.1, 0.5, 0.9), data)


def test_a_signal_inside_the_optimizer_step_resumes_to_the_uninterrupted_weights(tmp_path):
    store = _store()
    full = _task(store)
    fit(full, CFG, tmp_path / "full")
    previous = signal.signal(signal.SIGINT, _raise)
    try:
        stopped = None
        try:
            fit(_task(store), CFG, tmp_path / ".run.partial", callbacks=[SignalInsideStep(5)])
        except Stop as exc:
            stopped = exc
    finally:
        signal.signal(signal.SIGINT, previous)
    assert stopped is not None
    kept = tmp_path / "run.interrupted" / "last.ckpt"
    resumed = _task(store)
    fit(resumed, CFG, tmp_path / "again", ckpt_path=kept)
    for name, value in full.net.state_dict().items():
        torch.testing.assert_close(resumed.net.state_dict()[name], value, rtol=0, atol=0)


class SignalAfterLastBatch(pl.Callback):
    def __init__(self, hook: str):
        self.hook = hook

    def on_validation_epoch_end(self, trainer, *args) -> None:
        if self.hook == "validation" and trainer.current_epoch == trainer.max_epochs - 1:
            signal.raise_signal(signal.SIGINT)

    def on_train_end(self, trainer, *args) -> None:
        if self.hook == "train_end":
            signal.raise_signal(signal.SIGINT)


def _stopped_then_resumed(tmp_path, cfg, store, callback, signum) -> BaseException:
    """The stop a fit with ``callback`` ended in, under the command line's kind of handler for
    ``signum``; the checkpoint it kept resumes to the uninterrupted run's weights."""
    full = _task(store, batches=cfg.batches_per_epoch)
    fit(full, cfg, tmp_path / "full")
    previous = signal.signal(signum, _raise)
    try:
        with pytest.raises(Stop) as stopped:
            fit(_task(store, batches=cfg.batches_per_epoch), cfg, tmp_path / ".run.partial",
                callbacks=[callback])  # fmt: skip
    finally:
        signal.signal(signum, previous)
    kept = tmp_path / "run.interrupted" / "last.ckpt"
    assert kept.is_file()
    resumed = _task(store, batches=cfg.batches_per_epoch)
    fit(resumed, cfg, tmp_path / "again", ckpt_path=kept)
    for name, value in full.net.state_dict().items():
        torch.testing.assert_close(resumed.net.state_dict()[name], value, rtol=0, atol=0)
    return stopped.value


@pytest.mark.parametrize("hook", ["validation", "train_end"])
def test_a_signal_after_the_last_batch_keeps_a_checkpoint(tmp_path, hook):
    cfg = dataclasses.replace(CFG, batches_per_epoch=3)
    store = _store(weeks=30, items=4)
    stopped = _stopped_then_resumed(tmp_path, cfg, store, SignalAfterLastBatch(hook), signal.SIGINT)
    assert getattr(stopped, "checkpoint", None) is not None


# SIGTERM (``docker stop``, Kubernetes) landing at the end of a validation, while the epoch's
# checkpoints are written: Lightning's own SIGTERM handler runs before the command line's and
# ends the fit at the next epoch or batch boundary with ``SystemExit`` (status 0), before the
# batch end where the command line's handler is run. The stop must still be the command line's
# (exit 128 + 15, its message, a checkpoint named on it) and resume to the uninterrupted weights.


class TermAtValidationEnd(pl.Callback):
    """Send SIGTERM to this process at the end of epoch ``epoch``'s validation (the moment
    a run's checkpoint folder appears)."""

    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_validation_end(self, trainer, *args) -> None:
        if trainer.current_epoch == self.epoch and not trainer.sanity_checking:
            signal.raise_signal(signal.SIGTERM)


@pytest.mark.slow
@pytest.mark.parametrize("epoch", [0, 2])  # an epoch with more to come, and the last one
def test_sigterm_at_a_validation_end_stops_with_the_command_lines_interrupt(tmp_path, epoch):
    cfg = dataclasses.replace(CFG, max_epochs=3, batches_per_epoch=3)
    store = _store(weeks=30, items=4)
    stopped = _stopped_then_resumed(
        tmp_path, cfg, store, TermAtValidationEnd(epoch), signal.SIGTERM
    )
    assert stopped.args == (signal.SIGTERM,)
    assert getattr(stopped, "checkpoint", None) == tmp_path / "run.interrupted" / "last.ckpt"


# A stop after an epoch's last training batch and before its validation ended (the deferred
# SIGINT at the last batch's end or at a validation batch's end, Lightning's SIGTERM between
# validation batches): the resumed run skipped that validation, so a stop in the last epoch
# ended on the epoch before's weights and validation loss.


class StopInLastEpoch(pl.Callback):
    """Raise the command line's stop at the last epoch's last training batch end, or deliver
    ``signum`` before its second validation batch."""

    def __init__(self, where: str, signum: int = signal.SIGINT):
        self.where, self.signum = where, signum

    def on_train_batch_end(self, trainer, *args) -> None:
        last = trainer.max_epochs * trainer.num_training_batches
        if self.where == "train" and trainer.global_step == last:
            raise Stop("stop")

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, *args) -> None:
        if self.where == "validation" and trainer.current_epoch == trainer.max_epochs - 1:
            if batch_idx == 1:
                signal.raise_signal(self.signum)


class Scores(pl.Callback):
    def __init__(self):
        self.epochs: list[int] = []

    def on_validation_end(self, trainer, *args) -> None:
        self.epochs.append(trainer.current_epoch)


@pytest.mark.parametrize(
    ("where", "signum"),
    [("train", signal.SIGINT), ("validation", signal.SIGINT), ("validation", signal.SIGTERM)],
)
def test_a_stop_before_the_last_validation_ended_resumes_to_validate_it(tmp_path, where, signum):
    cfg = dataclasses.replace(CFG, max_epochs=2, batches_per_epoch=2, batch_size=2)
    store = _store(weeks=20, items=20)  # validation batches of 8 windows: 3 of them

    def task() -> ForecastTask:
        torch.manual_seed(0)
        origin = int(store.end.max()) - H
        net = build_network("lstm", InputDims.from_store(store), H, (0.5,), hidden_size=4)
        priors = group_prior_scale(store, origin)
        data = ForecastData(store, 4, H, 2, 2, origin, priors, min_encoder_length=4)
        return ForecastTask(net, (0.5,), data)

    full = task()
    whole = fit(full, cfg, tmp_path / "full")
    previous = signal.signal(signum, _raise)
    try:
        with pytest.raises(Stop):
            fit(task(), cfg, tmp_path / ".run.partial", callbacks=[StopInLastEpoch(where, signum)])
    finally:
        signal.signal(signum, previous)
    resumed, scores = task(), Scores()
    kept = tmp_path / "run.interrupted" / "last.ckpt"
    again = fit(resumed, cfg, tmp_path / "again", ckpt_path=kept, callbacks=[scores])
    assert scores.epochs == [1]  # the last epoch was validated, once
    assert again.best_score == whole.best_score
    for name, value in full.net.state_dict().items():
        torch.testing.assert_close(resumed.net.state_dict()[name], value, rtol=0, atol=0)

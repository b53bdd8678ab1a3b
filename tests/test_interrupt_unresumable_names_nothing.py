"""A stop (Ctrl-C, SIGTERM) must not name a checkpoint that no command resumes from.

An ensemble stopped while its first member trained kept ``<out>.interrupted/last.ckpt`` and
the command line printed "checkpoint to resume from: ...", while ``--resume`` of an ensemble is
refused ("an ensemble is trained member by member; retrain it"). `inspect train` did the same
(``runs/inspect.interrupted/last.ckpt`` and "checkpoint to resume from"), though it has no
``--resume`` at all and the README says an interrupted `inspect train` leaves nothing. A single
forecasting network still keeps and names its checkpoint."""

import os
import signal

import numpy as np
import pandas as pd
import pytest

import training.trainer as trainer_module
from forecasting import Forecaster, PanelSpec
from serving import cli
from tests.test_trainer_interrupt import Stop
from training.config import TrainConfig
from vision.synthetic import write_synthetic_dataset

TRAIN = TrainConfig(
    max_epochs=2,
    batches_per_epoch=3,
    batch_size=8,
    early_stopping_patience=None,
    progress_bar=False,
    accelerator="cpu",
)


def weekly_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2022-01-03", periods=40, freq="7D")
    rows = [
        {"item_id": f"i{i}", "location_id": "l0", "date": d, "demand": float(rng.poisson(5))}
        for i in range(6)
        for d in dates
    ]
    return pd.DataFrame(rows)


def small_lstm(**settings) -> Forecaster:
    spec = PanelSpec(freq="W", calendar=False)
    return Forecaster("lstm", 4, spec=spec, train=TRAIN, hidden_size=8, **settings)


def _stop_at_step(monkeypatch, step: int, error=Stop) -> None:
    def stop(self, trainer, *args):
        if trainer.global_step >= step:
            raise error()

    monkeypatch.setattr(trainer_module.DeferredSignals, "on_train_batch_end", stop)


def test_a_stopped_ensemble_names_no_checkpoint_it_refuses_to_resume(tmp_path, monkeypatch):
    _stop_at_step(monkeypatch, 4)
    with pytest.raises(Stop) as stopped:
        small_lstm(ensemble=2).fit(weekly_frame(), tmp_path / "run")
    kept = getattr(stopped.value, "checkpoint", None)
    if kept is not None and os.path.isfile(kept):  # what it named must resume
        monkeypatch.undo()
        small_lstm(ensemble=2).fit(weekly_frame(), tmp_path / "run", resume=kept)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_single_network_still_keeps_its_checkpoint(tmp_path, monkeypatch):
    _stop_at_step(monkeypatch, 4)
    with pytest.raises(Stop) as stopped:
        small_lstm().fit(weekly_frame(), tmp_path / "run")
    assert stopped.value.checkpoint == tmp_path / "run.interrupted" / "last.ckpt"
    assert stopped.value.checkpoint.is_file()


def test_a_stopped_inspection_run_leaves_nothing(tmp_path, monkeypatch, capsys):
    write_synthetic_dataset(tmp_path / "tunnel", 24, image_size=32, progress=False)
    monkeypatch.chdir(tmp_path)
    _stop_at_step(monkeypatch, 2, lambda: cli.Interrupted(signal.SIGTERM))
    train = ["inspect", "train", "--data", "tunnel", "--out", "runs/inspect", "--width", "8"]
    train += ["--image-size", "32", "--epochs", "2", "--batch-size", "8", "--accelerator", "cpu"]
    assert cli.main([*train, "--no-progress"]) == 128 + signal.SIGTERM
    err = capsys.readouterr().err
    assert "interrupted (SIGTERM)" in err
    assert "checkpoint to resume from" not in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())

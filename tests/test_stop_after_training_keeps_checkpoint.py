"""A training run stopped by Ctrl-C or SIGTERM after its last epoch, while the network is
finished and the run folder written, kept nothing to resume from: the staging folder, with
every checkpoint of the finished training, was removed, though a stop "first saves where it
stood". It keeps ``<out>.interrupted/last.ckpt`` now, and resuming from it ends on the
uninterrupted run's weights and forecasts."""

import pandas as pd
import pytest
import torch

import training.forecaster as forecaster_module
from forecasting import Forecaster
from tests.test_interrupt_unresumable_names_nothing import small_lstm, weekly_frame
from tests.test_trainer_interrupt import Stop


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference") / "run"
    small_lstm().fit(weekly_frame(), folder)
    return Forecaster.load(folder)


@pytest.mark.parametrize("where", ["untrained_known_as_mean", "write_weights"])
def test_a_run_stopped_after_its_training_keeps_a_checkpoint(
    tmp_path, monkeypatch, reference, where
):
    def stop(*args, **kwargs):
        raise Stop()

    monkeypatch.setattr(forecaster_module, where, stop)
    out = tmp_path / "run"
    with pytest.raises(Stop) as stopped:
        small_lstm().fit(weekly_frame(), out)
    monkeypatch.undo()
    kept = tmp_path / "run.interrupted" / "last.ckpt"
    assert kept.is_file()
    assert getattr(stopped.value, "checkpoint", None) == kept  # the command line names it
    assert not out.exists()

    small_lstm().fit(weekly_frame(), out, resume=kept)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    resumed = Forecaster.load(out)
    expected, found = reference.model_.net.state_dict(), resumed.model_.net.state_dict()
    assert all(torch.equal(expected[k], found[k]) for k in expected)
    pd.testing.assert_frame_equal(
        resumed.predict(weekly_frame()), reference.predict(weekly_frame())
    )


def test_an_error_after_the_training_keeps_nothing(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(forecaster_module, "write_weights", fail)
    with pytest.raises(OSError):
        small_lstm().fit(weekly_frame(), tmp_path / "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == []

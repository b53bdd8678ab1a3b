"""A training run stopped by Ctrl-C or SIGTERM after its last epoch, while the network is
finished and the run folder written, kept nothing to resume from: the staging folder, with
every checkpoint of the finished training, was removed, though a stop "first saves where it
stood". It keeps ``<out>.interrupted/last.ckpt`` now, and resuming from it ends on the
uninterrupted run's weights and forecasts."""

import numpy as np
import pandas as pd
import pytest
import torch

import training.forecaster as forecaster_module
from forecasting import Forecaster, PanelSpec
from training.config import TrainConfig

TRAIN = TrainConfig(
    max_epochs=2,
    batches_per_epoch=3,
    batch_size=8,
    early_stopping_patience=None,
    progress_bar=False,
    accelerator="cpu",
)


class Stop(BaseException):
    """What the command line raises on SIGINT / SIGTERM: not an ``Exception``."""


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2022-01-03", periods=40, freq="7D")
    rows = [
        {"item_id": f"i{i}", "location_id": "l0", "date": d, "demand": float(rng.poisson(5))}
        for i in range(6)
        for d in dates
    ]
    return pd.DataFrame(rows)


def _forecaster() -> Forecaster:
    spec = PanelSpec(freq="W", calendar=False)
    return Forecaster("lstm", 4, spec=spec, train=TRAIN, hidden_size=8)


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference") / "run"
    _forecaster().fit(_frame(), folder)
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
        _forecaster().fit(_frame(), out)
    monkeypatch.undo()
    kept = tmp_path / "run.interrupted" / "last.ckpt"
    assert kept.is_file()
    assert getattr(stopped.value, "checkpoint", None) == kept  # the command line names it
    assert not out.exists()

    _forecaster().fit(_frame(), out, resume=kept)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    resumed = Forecaster.load(out)
    expected, found = reference.model_.net.state_dict(), resumed.model_.net.state_dict()
    assert all(torch.equal(expected[k], found[k]) for k in expected)
    pd.testing.assert_frame_equal(resumed.predict(_frame()), reference.predict(_frame()))


def test_an_error_after_the_training_keeps_nothing(tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(forecaster_module, "write_weights", fail)
    with pytest.raises(OSError):
        _forecaster().fit(_frame(), tmp_path / "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == []

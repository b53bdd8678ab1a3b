"""A network whose training diverged from its first epoch (a validation loss never finite,
weights NaN) forecast NaN for every series and was saved as fitted; ``auto`` scored its NaN
forecasts as perfect and shipped them. Now the fit is refused (nothing saved), ``auto`` leaves
the network out, an ensemble names the member, and a saved run of NaN weights is refused."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import training.forecaster as forecaster_module
from forecasting import Forecaster
from forecasting.synthetic import generate_network
from kernels.io import FileError
from training.config import TrainConfig
from training.forecaster import NeuralForecaster, TrainingDiverged, default_learning_rate

H = 7
FAST = TrainConfig(
    max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False, accelerator="cpu"
)


@pytest.fixture(scope="module")
def network():
    return generate_network(n_items=4, n_locations=1, n_days=120, seed=7, future_days=H)


def test_a_diverged_network_is_refused_and_saves_nothing(network, tmp_path):
    # A learning rate of 1e20: the validation loss is NaN from the first epoch (Lightning's
    # checkpoint records inf) and every forecast was NaN, written to the run as fitted.
    train = dataclasses.replace(FAST, learning_rate=1e20)
    forecaster = Forecaster("lstm", H, spec=network.spec, train=train, hidden_size=4)
    with pytest.raises(TrainingDiverged, match=r"lstm: the training diverged.*learning_rate"):
        forecaster.fit(network.to_frame(), run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
    assert forecaster.model_ is None
    assert issubclass(TrainingDiverged, ValueError)  # the command line reports it as an error


def test_an_ensemble_member_that_diverged_is_named_by_its_seed(network, monkeypatch):
    real_fit = forecaster_module.fit

    def second_member_diverges(task, train, *args, **kwargs):
        result = real_fit(task, train, *args, **kwargs)
        if train.seed == 1:  # member 1 of an ensemble seeded 0
            with torch.no_grad():
                for p in task.net.parameters():
                    p.fill_(float("nan"))
            result = dataclasses.replace(result, best_score=float("inf"))
        return result

    monkeypatch.setattr(forecaster_module, "fit", second_member_diverges)
    forecaster = Forecaster("lstm", H, spec=network.spec, train=FAST, hidden_size=4, ensemble=2)
    with pytest.raises(TrainingDiverged, match="lstm ensemble member of seed 1"):
        forecaster.fit(network.to_frame())


@pytest.mark.slow
def test_auto_leaves_a_diverged_network_out(network, monkeypatch, tmp_path):
    # The TFT alone diverges. Before, its NaN forecasts scored WAPE 0 on validation and auto
    # chose it (and the lstm+tft average) for every class: every forecast NaN.
    monkeypatch.setattr(
        NeuralForecaster,
        "learning_rate",
        property(lambda self: 1e20 if self.name == "tft" else default_learning_rate(self.config)),
    )
    auto = Forecaster(
        "auto", H, spec=network.spec, train=FAST, hidden_size=4, auto_gbm=False,
        auto_distributions=("quantile",),
    )  # fmt: skip
    frame = network.to_frame()
    with pytest.warns(UserWarning, match=r"auto: tft left out \(tft: the training diverged"):
        auto.fit(frame, run_dir=tmp_path / "auto")
    model = auto.model_
    assert list(model.networks) == ["lstm"]
    assert "tft" not in set(model.scores["model"])
    assert not (tmp_path / "auto" / "tft").exists()
    quantiles = [c for c in auto.predict(frame).columns if c.startswith("q")]
    assert auto.predict(frame)[quantiles].notna().all().all()
    assert auto.predict(frame, cumulative=H)[quantiles].notna().all().all()
    loaded = Forecaster.load(tmp_path / "auto")
    assert loaded.predict(frame)[quantiles].notna().all().all()


@pytest.mark.slow
def test_auto_whose_every_network_diverged_is_refused(network, monkeypatch):
    monkeypatch.setattr(NeuralForecaster, "learning_rate", property(lambda self: 1e20))
    auto = Forecaster(
        "auto", H, spec=network.spec, train=FAST, hidden_size=4, auto_gbm=False,
        auto_distributions=("quantile",),
    )  # fmt: skip
    with pytest.raises(TrainingDiverged, match="auto: every network diverged"):
        auto.fit(network.to_frame())


def test_a_saved_run_of_nan_weights_is_refused_naming_the_file(network, tmp_path):
    # A run saved before the fit refused divergence: its forecasts would all be NaN.
    forecaster = Forecaster("lstm", H, spec=network.spec, train=FAST, hidden_size=4)
    forecaster.fit(network.to_frame())
    with torch.no_grad():
        next(forecaster.model_.net.parameters()).fill_(float("nan"))
    forecaster.save(tmp_path / "run")
    with pytest.raises(FileError, match=r"model\.pt: the weights hold values that are not finite"):
        Forecaster.load(tmp_path / "run").predict(network.to_frame())

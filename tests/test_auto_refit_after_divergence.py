"""A network that diverged in one auto fit is left out of that fit only: a backtest refits the
same forecaster at every origin, and one that diverged at the first origin was never fitted
again (its later origins scored without it, and the other network diverging there read as
"every network diverged")."""

from __future__ import annotations

import warnings

import pytest

from forecasting import Forecaster
from forecasting.synthetic import generate_network
from training.config import TrainConfig
from training.forecaster import NeuralForecaster, TrainingDiverged

H = 7


@pytest.mark.slow
def test_a_network_that_diverged_once_is_fitted_again_at_the_next_origin(monkeypatch):
    network = generate_network(n_items=4, n_locations=2, n_days=120, seed=3, future_days=H)
    real = NeuralForecaster.fit
    calls: list[tuple[str, int]] = []

    def tft_diverges_first(self, store, cutoff=None, *args, **kwargs):
        calls.append((self.name, cutoff))
        if self.name == "tft" and sum(name == "tft" for name, _ in calls) == 1:
            raise TrainingDiverged("tft: the training diverged (best validation loss inf)")
        return real(self, store, cutoff, *args, **kwargs)

    monkeypatch.setattr(NeuralForecaster, "fit", tft_diverges_first)
    fast = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False)
    forecaster = Forecaster(
        "auto", H, spec=network.spec, train=fast, hidden_size=4,
        auto_distributions=("quantile",), auto_gbm=False,
    )  # fmt: skip
    store = forecaster.store(network.to_frame())
    auto = forecaster._model(store.spec.season)
    end = int(store.end.max())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto.fit(store, cutoff=end - 14)
        assert list(auto.networks) == ["lstm"]
        auto.fit(store, cutoff=end - 7)
    assert ("tft", end - 7) in calls
    assert set(auto.networks) == {"lstm", "tft"}
    assert "tft" in set(auto.scores["model"])

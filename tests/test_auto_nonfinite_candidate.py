"""A candidate whose validation forecast is NaN for some windows: the window scores sum errors
skipping NaN, so those windows counted as no error at all (a network NaN everywhere scored WAPE
0) and auto shipped it. Such a candidate, and every average it is part of, is left out, said
in a warning."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from forecasting import Forecaster
from forecasting.synthetic import generate_network
from training.config import TrainConfig
from training.forecaster import NeuralForecaster

H = 7


@pytest.mark.slow
def test_a_candidate_forecasting_nan_is_not_scored_as_perfect(monkeypatch):
    network = generate_network(n_items=4, n_locations=2, n_days=120, seed=3, future_days=H)
    real = NeuralForecaster.predict_windows

    def tft_nan_on_half(self, store, series, origins, *args, **kwargs):
        out = real(self, store, series, origins, *args, **kwargs)
        if self.name == "tft":
            out = np.array(out, copy=True)
            out[::2] = np.nan  # every other window
        return out

    monkeypatch.setattr(NeuralForecaster, "predict_windows", tft_nan_on_half)
    fast = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False)
    forecaster = Forecaster(
        "auto", H, spec=network.spec, train=fast, hidden_size=4,
        auto_distributions=("quantile",), auto_gbm=False,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", UserWarning)
        with pytest.warns(UserWarning, match=r"tft left out: its forecast is not finite"):
            forecaster.fit(network.to_frame())
    auto = forecaster.model_
    scored = set(auto.scores["model"])
    assert not any("tft" in name for name in scored)
    assert {"lstm", "seasonal_naive"} <= scored
    chosen = {auto.fallback, *auto.choice.values(), *(o["model"] for o in auto.overrides)}
    assert not any("tft" in name for name in chosen)

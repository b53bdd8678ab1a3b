"""auto on a panel too short to score any candidate on its validation window (a weekly table
of a year and a bit: no series has 52 weeks of history before the last horizon) ships an
unscored candidate for every series. A user relies on auto comparing its candidates with
seasonal naive; where it could not, it must say so and name what it ships (it printed an
empty summary and said nothing)."""

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster
from training import TrainConfig


def test_auto_says_when_no_candidate_could_be_scored():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2023-01-02", periods=56, freq="W-MON")
    table = pd.concat(
        [
            pd.DataFrame({"item_id": f"i{i}", "location_id": "x", "date": dates,
                          "demand": rng.poisson(20, 56).astype(float)})
            for i in range(4)
        ],
        ignore_index=True,
    )  # fmt: skip
    fast = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False)
    forecaster = Forecaster(
        "auto", horizon=8, train=fast, hidden_size=8, auto_distributions=("quantile",),
        auto_gbm=False,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", UserWarning)
        with pytest.warns(UserWarning, match="no candidate was scored.*lstm\\+tft"):
            forecaster.fit(table)
    assert forecaster.model_.scores.empty and forecaster.model_.fallback == "lstm+tft"

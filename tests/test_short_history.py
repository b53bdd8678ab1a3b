"""A year of weekly sales (shorter than a season plus two horizons) trains with the default
encoder settings: the observed periods a training window needs are capped at what a window
before the validation window can see, instead of refusing every window."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster, PanelSpec
from training import TrainConfig

FAST = TrainConfig(
    max_epochs=1, batches_per_epoch=1, batch_size=8, progress_bar=False, accelerator="cpu"
)


def _table(freq: str, periods: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    step = {"D": "D", "W": "7D", "M": "MS"}[freq]
    dates = pd.date_range("2022-01-03", periods=periods, freq=step)
    return pd.DataFrame(
        [
            {"item_id": f"i{i}", "location_id": "l0", "date": d, "demand": float(rng.poisson(5))}
            for i in range(6)
            for d in dates
        ]
    )


@pytest.mark.parametrize(
    "freq, periods, horizon",
    [("W", 52, 8), ("W", 40, 8), ("W", 67, 8), ("M", 20, 6), ("D", 60, 28)],
)
def test_a_history_shorter_than_a_season_and_two_horizons_trains(freq, periods, horizon):
    table = _table(freq, periods)
    forecaster = Forecaster("lstm", horizon=horizon, spec=PanelSpec(), train=FAST, hidden_size=8)
    forecaster.fit(table)
    default = {"D": 56, "W": 60, "M": 48}[freq]
    assert forecaster.spec.freq == freq
    assert forecaster.model_.encoder_length == min(periods - horizon, default)
    assert forecaster.model_.info["epochs"] == 1

"""A cold-start backtest of a panel with one item (at several FCs) would hide every item: the
networks then found no training window and said the history was too short, and baselines
scored every series as a new item. It is refused, naming cold_start."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster
from training import TrainConfig

FAST = TrainConfig(
    max_epochs=1, batches_per_epoch=1, batch_size=8, progress_bar=False, accelerator="cpu"
)


def _table(items: list[str]) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=120, freq="D")
    return pd.DataFrame(
        [
            {"item_id": item, "location_id": loc, "date": d, "demand": float(rng.poisson(5))}
            for item in items
            for loc in ("F1", "F2")
            for d in dates
        ]
    )


@pytest.mark.parametrize("model", ["seasonal_naive", "lstm"])
def test_a_cold_start_backtest_that_would_hide_every_item_is_refused(model):
    options = {"hidden_size": 8} if model == "lstm" else {}
    forecaster = Forecaster(model, horizon=7, train=FAST, **options)
    with pytest.raises(ValueError, match="cold_start: .*hides every item"):
        forecaster.backtest(_table(["A"]), origins=1, cold_start=0.2)


def test_two_items_still_backtest_with_one_hidden():
    forecaster = Forecaster("seasonal_naive", horizon=7)
    result = forecaster.backtest(_table(["A", "B"]), origins=1, cold_start=0.2)
    history = result.metrics[result.metrics["segment_type"] == "history"]
    assert set(history["segment"]) == {"cold", "warm"}

"""The gbm on a panel that sold nothing before its validation window.

A user fitting ``auto`` (the gbm is on by default) on slow movers whose training history is all
zero relies on the fit finishing: the gbm's failure to fit is meant to leave it out of auto
(a ValueError), never to stop the whole run after the networks trained. Tweedie cannot fit a
demand that is all zero (LightGBM refuses it); the absolute loss can, and its forecast of a
series that never sold is 0 (a hand-worked reference: the median of zeros).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from forecasting import PanelSpec
from forecasting.models.gbm import GradientBoosted
from forecasting.store import PanelStore
from forecasting.validate import validate_panel

H = 7


def zero_panel(n_days: int = 200, sales_from: int | None = None) -> PanelStore:
    dates = pd.date_range("2023-01-02", periods=n_days, freq="D")
    frames = []
    for s in range(6):
        demand = np.zeros(n_days)
        if sales_from is not None:
            demand[sales_from:] = 1.0 + s
        frames.append(
            pd.DataFrame({"item_id": f"i{s}", "location_id": f"fc{s % 2}", "date": dates,
                          "demand": demand})
        )  # fmt: skip
    spec = PanelSpec(freq="D")
    clean, _ = validate_panel(pd.concat(frames, ignore_index=True), spec, categories=True)
    return PanelStore.from_frame(clean, spec.with_freq("D"))


def test_gbm_fits_a_history_that_never_sold():
    store = zero_panel()
    cutoff = store.n_periods - H
    model = GradientBoosted(H, "D", (0.1, 0.5, 0.9), threads=1).fit(store, cutoff)
    assert model.info["median_objective"].startswith("l1")
    series = torch.arange(store.n_series)
    forecast = model.predict_windows(store, series, torch.full_like(series, cutoff))
    np.testing.assert_array_equal(forecast, 0.0)


def test_gbm_fits_when_the_first_sales_are_in_the_validation_window():
    store = zero_panel(sales_from=200 - 2 * H)
    model = GradientBoosted(H, "D", (0.1, 0.5, 0.9), threads=1).fit(store, store.n_periods - H)
    assert "tweedie1.5" not in model.info["validation_wape"]
    assert set(model.boosters) == {0.1, 0.5, 0.9}

"""Known covariates limit how far a series is forecast: a hole in the future rows of a known real
ends what is known, and known categoricals need rows over the horizon too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting import Forecaster, PanelSpec
from forecasting.store import PanelStore
from forecasting.validate import PanelError, validate_panel

DAYS = pd.date_range("2024-01-01", periods=14, freq="D")


def priced_panel(drop_future_row: bool) -> pd.DataFrame:
    """Item a: 10 observed days, then two future rows; the first future row's price is
    missing (or the row is left out altogether)."""
    rows = [
        {"item_id": "a", "location_id": "L", "date": DAYS[t], "demand": 5.0, "price": 1.0 + t}
        for t in range(10)
    ]
    if not drop_future_row:
        rows.append(
            {
                "item_id": "a",
                "location_id": "L",
                "date": DAYS[10],
                "demand": np.nan,
                "price": np.nan,
            }
        )
    rows.append(
        {"item_id": "a", "location_id": "L", "date": DAYS[11], "demand": np.nan, "price": 20.0}
    )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("drop_future_row", [False, True])
def test_a_hole_in_the_future_known_reals_limits_the_horizon(drop_future_row):
    """Day 10 (the first forecast day) has no price: a forecast of 1 or 2 days is longer than
    the known covariates (README: 'missing on future rows limits how far the series can be
    forecast'), whatever day 11 holds; before the fix it passed and the network read the
    series' mean price (0 after the z-score) for day 10."""
    spec = PanelSpec(known_reals=("price",), freq="D")
    clean, _ = validate_panel(priced_panel(drop_future_row), spec)
    store = PanelStore.from_frame(clean, spec, extra_periods=2)
    series = torch.tensor([0])
    assert int(store.end[0]) == 10
    assert int(store.known_until[0]) == 10
    with pytest.raises(PanelError, match="price: the horizon of 2"):
        store.check_horizon(series, store.end[series], 2)
    forecaster = Forecaster("seasonal_naive", horizon=2, spec=spec)
    forecaster.fit(priced_panel(drop_future_row).dropna(subset=["demand"]))
    with pytest.raises(PanelError, match="price: the horizon of 2"):
        forecaster.predict(priced_panel(drop_future_row))


def test_known_categoricals_must_cover_the_horizon():
    """A promotion calendar is a known covariate: a table without future rows for it cannot
    be forecast (before the fix the decoder silently read the unknown code 0 for every step)."""
    history = pd.DataFrame(
        {
            "item_id": "a",
            "location_id": "L",
            "date": DAYS[:10],
            "demand": np.arange(10.0),
            "promo": np.where(np.arange(10) % 2, "on", "off"),
        }
    )
    spec = PanelSpec(known_categoricals=("promo",), freq="D")
    forecaster = Forecaster("seasonal_naive", horizon=3, spec=spec).fit(history)
    with pytest.raises(PanelError, match="promo: the horizon of 3"):
        forecaster.predict(history)
    future = pd.DataFrame(
        {"item_id": "a", "location_id": "L", "date": DAYS[10:13], "demand": np.nan, "promo": "on"}
    )
    table = forecaster.predict(pd.concat([history, future], ignore_index=True))
    assert table["date"].tolist() == list(DAYS[10:13])

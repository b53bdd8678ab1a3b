"""A series listed with empty demand over past periods (an item off sale, no sales record yet)
has no history, so it is forecast from its first row: for dates before the table's last
observed period. A series whose history ends early is named in a warning for that; this one
was forecast for the past without a word."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster
from forecasting.grid import ended_early
from forecasting.spec import PanelSpec

H = 7
DATES = pd.date_range("2024-01-01", periods=60, freq="D")


def _table(unsold_from: int) -> pd.DataFrame:
    sold = pd.DataFrame({"item_id": "A", "location_id": "L", "date": DATES, "demand": 5.0})
    dates = pd.date_range(DATES[0] + pd.Timedelta(days=unsold_from), periods=H, freq="D")
    unsold = pd.DataFrame({"item_id": "B", "location_id": "L", "date": dates, "demand": np.nan})
    return pd.concat([sold, unsold], ignore_index=True)


@pytest.fixture(scope="module")
def fitted():
    return Forecaster("seasonal_naive", H, spec=PanelSpec()).fit(_table(60))


def test_an_item_without_history_listed_over_past_dates_is_named(fitted):
    with pytest.warns(UserWarning, match=r"1 of 2 series have no observed demand") as caught:
        forecast = fitted.predict(_table(0))
    assert "B @ L (first row 2024-01-01)" in str(caught[0].message)
    # What the warning is about: B's forecast is for January, A's after 29 February.
    first = forecast.groupby("item_id")["date"].min()
    assert first["B"] == pd.Timestamp("2024-01-01") and first["A"] == pd.Timestamp("2024-03-01")


def test_a_new_item_from_the_forecast_origin_is_not_named(fitted):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted.predict(_table(60))


def test_the_grid_rule_the_package_runtime_shares():
    keys = pd.DataFrame({"item_id": ["A", "B", "C"], "location_id": ["L"] * 3})
    dates = pd.date_range("2024-01-01", periods=12, freq="D")
    end, first_row = np.array([10, 0, 0]), np.array([0, 3, 10])
    with pytest.warns(UserWarning, match=r"B @ L \(first row 2024-01-04\)"):
        note = ended_early(keys, dates, end, first_row)
    assert note is not None and "C @ L" not in note

"""A series whose demand stops months before the table's end is forecast for those past
periods (and its dateless lead-time demand planned as current): the user is told which."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster
from forecasting.spec import PanelSpec

H = 7


def _table(ended: bool) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2023-01-02", periods=120, freq="D")
    rows = []
    for item in ("A", "B", "C"):
        stop = 40 if ended and item == "A" else len(dates)  # A discontinued 80 days early
        for day in dates[:stop]:
            rows.append((item, "L0", day, float(rng.poisson(5))))
    return pd.DataFrame(rows, columns=["item_id", "location_id", "date", "demand"])


@pytest.fixture(scope="module")
def fitted():
    return Forecaster("seasonal_naive", H, spec=PanelSpec()).fit(_table(ended=False))


def test_a_series_that_ended_early_is_named(fitted):
    table = _table(ended=True)
    with pytest.warns(UserWarning, match=r"1 of 3 series end before") as caught:
        forecast = fitted.predict(table)
    message = str(caught[0].message)
    assert "A @ L0 (last observed 2023-02-10)" in message and "2023-05-01" in message
    first = forecast.groupby("item_id")["date"].min()  # 80 days before the others'
    assert first["A"] == pd.Timestamp("2023-02-11")
    assert first["B"] == pd.Timestamp("2023-05-02")


def test_a_table_that_ends_together_or_a_new_item_is_not_named(fitted):
    table = _table(ended=False)
    last = table["date"].max()
    future = pd.date_range(last + pd.Timedelta(days=1), periods=H, freq="D")
    new = pd.DataFrame({"item_id": "N", "location_id": "L0", "date": future, "demand": np.nan})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted.predict(table)
        fitted.predict(pd.concat([table, new], ignore_index=True))

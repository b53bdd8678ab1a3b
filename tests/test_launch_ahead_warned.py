"""A new item listed from a period after the forecast origin (a launch ahead) is forecast from
its first row, so its lead-time table, which has no dates, counts demand from the launch: a plan
read it as the next days' demand (the launch's first days ordered now for an item that sells
nothing before). The per-step table carries its dates; the lead-time table's user is warned,
as for the series forecast for past periods."""

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


def _table(launch_day: int) -> pd.DataFrame:
    sold = pd.DataFrame({"item_id": "A", "location_id": "L", "date": DATES, "demand": 5.0})
    dates = pd.date_range(DATES[0] + pd.Timedelta(days=launch_day), periods=H, freq="D")
    new = pd.DataFrame({"item_id": "B", "location_id": "L", "date": dates, "demand": np.nan})
    return pd.concat([sold, new], ignore_index=True)


@pytest.fixture(scope="module")
def fitted():
    return Forecaster("seasonal_naive", H, spec=PanelSpec()).fit(_table(60))


def test_a_launch_ahead_is_named_for_the_lead_time_table(fitted):
    with pytest.warns(UserWarning, match=r"1 of 2 series have no observed demand and start after"):
        fitted.predict(_table(70), cumulative=H)
    # What the warning is about: B's forecast starts ten days after A's.
    steps = fitted.predict(_table(70))
    first = steps.groupby("item_id")["date"].min()
    assert first["B"] == pd.Timestamp("2024-03-11") and first["A"] == pd.Timestamp("2024-03-01")


def test_per_step_tables_and_launches_at_the_origin_are_not_named(fitted):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted.predict(_table(70))  # per-step rows carry their dates
        fitted.predict(_table(60), cumulative=H)  # launched at the origin


def test_the_grid_rule_the_package_runtime_shares():
    keys = pd.DataFrame({"item_id": ["A", "B", "C"], "location_id": ["L"] * 3})
    dates = pd.date_range("2024-01-01", periods=20, freq="D")
    end, first_row = np.array([10, 0, 0]), np.array([0, 10, 14])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ended_early(keys, dates, end, first_row) is None
    with pytest.warns(UserWarning, match=r"C @ L \(first row 2024-01-15\)"):
        note = ended_early(keys, dates, end, first_row, cumulative=True)
    assert note is not None and "B @ L" not in note and "(2024-01-11)" in note

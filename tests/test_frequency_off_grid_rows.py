"""A weekly or monthly panel with one row a day off its grid: the gap error asks for --freq W
(or M), and that frequency then names the row off the grid (it was refused as 'daily')."""

import numpy as np
import pandas as pd
import pytest

from forecasting.spec import PanelSpec
from forecasting.validate import PanelError, validate_panel


def _panel(*series):
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        [
            {"item_id": f"i{s}", "location_id": "L", "date": d, "demand": float(rng.poisson(9))}
            for s, dates in enumerate(series)
            for d in dates
        ]
    )


def test_weekly_row_a_day_late_is_named_under_the_frequency_the_hint_asks_for():
    weeks = pd.date_range("2024-01-07", periods=40, freq="W-SUN")
    late = weeks.delete(10).insert(10, weeks[10] + pd.Timedelta(days=1))  # a Monday
    frame = _panel(weeks, late)
    with pytest.raises(PanelError, match="give --freq W"):
        validate_panel(frame, PanelSpec())
    with pytest.raises(PanelError, match="not every date is weekday 6") as info:
        validate_panel(frame, PanelSpec(freq="W"))
    assert "2024-03-18" in str(info.value)  # the late row, by its date


def test_monthly_row_a_day_late_is_named_under_the_frequency_the_hint_asks_for():
    months = pd.date_range("2020-01-01", periods=30, freq="MS")
    late = months.delete(7).insert(7, months[7] + pd.Timedelta(days=1))
    frame = _panel(months, late)
    with pytest.raises(PanelError, match="give --freq M"):
        validate_panel(frame, PanelSpec())
    with pytest.raises(PanelError, match="days other than 1") as info:
        validate_panel(frame, PanelSpec(freq="M"))
    assert "2020-08-02" in str(info.value)


def test_evenly_spaced_daily_dates_still_contradict_a_weekly_frequency():
    frame = _panel(pd.date_range("2024-01-01", periods=60, freq="D"))
    with pytest.raises(PanelError, match=r"dates are daily \(D\) but .* given as W"):
        validate_panel(frame, PanelSpec(freq="W"))

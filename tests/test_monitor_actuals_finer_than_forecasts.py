"""Weekly (or monthly) forecasts against daily actuals: the monitor matched each row on its date
alone, so a week's forecast (70 units) was scored against one day's demand (10 units): WAPE 6.0
and a drift flag on a forecast that was exact. Actuals on a finer grid than their series'
forecasts are refused, naming a series and both grids."""

import numpy as np
import pandas as pd
import pytest

from forecasting.monitor import monitor
from forecasting.validate import PanelError


def _forecast(dates, median):
    return pd.DataFrame({"item_id": "A", "location_id": "L", "date": dates,
                         "step": np.arange(1, len(dates) + 1), "q0.1": median * 0.7,
                         "q0.5": median, "q0.9": median * 1.3})  # fmt: skip


def _actuals(dates, demand):
    return pd.DataFrame({"item_id": "A", "location_id": "L", "date": dates, "demand": demand})


def test_daily_actuals_against_weekly_forecasts_are_refused():
    weeks = pd.date_range("2024-01-07", periods=4, freq="7D")
    days = pd.date_range("2024-01-01", "2024-01-28", freq="D")
    with pytest.raises(PanelError, match="1 days apart against weekly forecasts"):
        monitor(_forecast(weeks, 70.0), _actuals(days, 10.0), segments=[])


def test_weekly_actuals_against_monthly_forecasts_are_refused():
    months = pd.DatetimeIndex(["2024-01-31", "2024-02-29", "2024-03-31"])
    weeks = pd.date_range("2024-01-07", "2024-03-31", freq="7D")
    with pytest.raises(PanelError, match="7 days apart against monthly forecasts"):
        monitor(_forecast(months, 40.0), _actuals(weeks, 10.0), segments=[])


def test_same_or_coarser_grids_still_score():
    weeks = pd.date_range("2024-01-07", periods=4, freq="7D")
    report = monitor(_forecast(weeks, 70.0), _actuals(weeks, 70.0), segments=[])
    assert report.table["wape"].iloc[0] == 0.0
    days = pd.date_range("2024-01-07", periods=14, freq="D")
    report = monitor(_forecast(days, 10.0), _actuals(weeks[:2], 10.0), segments=[])
    assert report.table["n_rows"].iloc[0] == 2


def test_a_week_dated_a_day_early_is_not_a_finer_grid():
    weeks = pd.date_range("2024-01-07", periods=6, freq="7D")
    dates = weeks.delete(2).append(pd.DatetimeIndex([weeks[2] - pd.Timedelta(days=1)]))
    # Not read as a finer grid; the shifted week's row, which meets no forecast row (its week
    # went unscored as "no actual yet"), is named instead.
    with pytest.raises(PanelError, match="actual 2024-01-20 against forecasts dated") as error:
        monitor(_forecast(weeks, 10.0), _actuals(dates.sort_values(), 10.0), segments=[])
    assert "finer grid" not in str(error.value)


def test_quarterly_forecasts_are_refused_not_read_as_months():
    # Quarters against monthly actuals were matched row by row: WAPE 2.0 for exact forecasts.
    quarters = pd.DatetimeIndex(["2024-01-01", "2024-04-01", "2024-07-01"])
    months = pd.date_range("2024-01-01", "2024-09-01", freq="MS")
    with pytest.raises(PanelError, match="steps longer than a month.*91 days a step"):
        monitor(_forecast(quarters, 30.0), _actuals(months, 10.0), segments=[])
    # Monthly steps of 31 days (July, August) are months.
    summer = pd.DatetimeIndex(["2024-07-01", "2024-08-01", "2024-09-01"])
    report = monitor(_forecast(summer, 10.0), _actuals(summer, 10.0), segments=[])
    assert report.table["wape"].iloc[0] == 0.0

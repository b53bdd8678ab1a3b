"""Forecasts and actuals dated by different days of their periods (forecasts on a month's first
day, an ERP's actuals on its last; weeks dated Monday against weeks ending Sunday). A row is
matched on its date alone, so a series dated so met no forecast row and was left out as "no
actual yet" while the other series were scored (WAPE 0.83 / 0.58 per origin for 0.69 / 0.81 by
period), and one period dated otherwise (February on the 29th among month starts) was scored as
0 demand (1.27 for 0.69). Such actuals are refused, naming a series and the dates."""

import numpy as np
import pandas as pd
import pytest

from forecasting.monitor import monitor
from forecasting.validate import PanelError


def _tables(periods, actual_dates):
    """Series A and B, runs of 3 steps from periods 0 and 3; A's actuals on the forecasts'
    dates, B's on ``actual_dates``."""
    rows = [{"item_id": item, "location_id": "L", "date": periods[start + s], "step": s + 1,
             "q0.1": 5.0, "q0.5": 10.0, "q0.9": 15.0}
            for item in "AB" for start in (0, 3) for s in range(3)]  # fmt: skip
    demand = np.arange(4.0, 10.0)
    actuals = pd.concat(
        [
            pd.DataFrame({"item_id": item, "location_id": "L", "date": dates, "demand": demand})
            for item, dates in (("A", periods), ("B", actual_dates))
        ]  # fmt: skip
    )
    return pd.DataFrame(rows), actuals


MONTH_STARTS = pd.date_range("2024-01-01", periods=6, freq="MS")
MONDAYS = pd.date_range("2024-01-01", periods=6, freq="W-MON")


@pytest.mark.parametrize(
    ("periods", "actual_dates", "shown"),
    [
        (MONTH_STARTS, MONTH_STARTS + pd.offsets.MonthEnd(0), "actual 2024-01-31"),
        (MONTH_STARTS, MONTH_STARTS + pd.Timedelta(days=14), "actual 2024-01-15"),
        (MONDAYS, MONDAYS + pd.Timedelta(days=6), "actual 2024-01-07"),
        (MONTH_STARTS, MONTH_STARTS.delete(1).insert(1, pd.Timestamp("2024-02-29")),
         "actual 2024-02-29"),
        (MONDAYS, MONDAYS.delete(2).insert(2, pd.Timestamp("2024-01-21")), "actual 2024-01-21"),
    ],
)  # fmt: skip
def test_actuals_dated_off_their_forecasts_periods_are_refused(periods, actual_dates, shown):
    forecasts, actuals = _tables(periods, actual_dates)
    with pytest.raises(PanelError, match=f"item 'B' at 'L': {shown} against forecasts dated"):
        monitor(forecasts, actuals, segments=[])


def test_actuals_on_the_forecasts_days_still_score_every_period():
    for periods in (MONTH_STARTS, MONTH_STARTS + pd.offsets.MonthEnd(0), MONDAYS):
        forecasts, actuals = _tables(periods, periods)
        report = monitor(forecasts, actuals, segments=[])
        assert report.table["n_rows"].sum() == len(forecasts)
        latest = np.array([7.0, 8.0, 9.0])  # the latest run's periods, both series alike
        assert np.isclose(report.checks["wape"].iloc[0], np.abs(10.0 - latest).sum() / 24)

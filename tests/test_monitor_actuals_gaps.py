"""The monitor scores a period the actuals list no row for, between a series' observed ones, as
0 demand: the panel's (and the backtest's) rule for gaps. It left such rows out as "no actual
yet", so a table listing the days with sales hid the forecast's errors on the other days."""

import numpy as np
import pandas as pd

from forecasting.monitor import monitor


def _forecast(dates):
    return pd.DataFrame({"item_id": "A", "location_id": "L", "date": dates,
                         "step": np.arange(1, len(dates) + 1),
                         "q0.1": 5.0, "q0.5": 10.0, "q0.9": 15.0})  # fmt: skip


def _actuals(dates):
    return pd.DataFrame({"item_id": "A", "location_id": "L", "date": dates, "demand": 10.0,
                         "category": "food"})  # fmt: skip


def _wape(actual, median=10.0):
    actual = np.asarray(actual, dtype=float)
    return np.abs(actual - median).sum() / actual.sum()


def test_a_missing_day_between_sales_is_a_day_without_sales():
    dates = pd.date_range("2024-01-01", periods=7, freq="D")
    report = monitor(_forecast(dates), _actuals(dates.delete(2)), segments=["category"])
    expected = _wape([10, 10, 0, 10, 10, 10, 10])  # 1/6, by hand
    for row in report.table.itertuples():
        assert row.n_rows == 7
        assert np.isclose(row.wape, expected)
        assert np.isclose(row.bias, 10 / 60)
        assert np.isclose(row.coverage_80, 6 / 7)


def test_weekly_and_monthly_gaps_on_the_series_grid():
    weeks = pd.date_range("2024-01-07", periods=6, freq="7D")
    report = monitor(_forecast(weeks), _actuals(weeks.delete(2)), segments=[])
    assert np.isclose(report.table["wape"].iloc[0], _wape([10, 10, 0, 10, 10, 10]))
    months = pd.DatetimeIndex(["2024-01-30", "2024-02-29", "2024-03-30", "2024-04-30"])
    report = monitor(_forecast(months), _actuals(months.delete(1)), segments=[])
    assert np.isclose(report.table["wape"].iloc[0], _wape([10, 0, 10, 10]))


def test_periods_after_the_last_actual_or_off_its_grid_stay_unscored():
    weeks = pd.date_range("2024-01-07", periods=6, freq="7D")
    report = monitor(_forecast(weeks), _actuals(weeks[:3]), segments=[])
    assert report.table["n_rows"].iloc[0] == 3  # not observed yet
    days = pd.date_range("2024-01-07", periods=14, freq="D")
    report = monitor(_forecast(days), _actuals(weeks), segments=[])
    assert report.table["n_rows"].iloc[0] == 2  # weekly actuals: the other days are no gaps

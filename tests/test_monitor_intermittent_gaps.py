"""The monitor scores the days an intermittent daily series has no sales row for as 0 demand,
also when the series never sold on two days in a row (its smallest step was 2 days, so no day of
it counted as on its grid, and its zero days stayed unscored as 'no actual yet')."""

import numpy as np
import pandas as pd

from forecasting.monitor import monitor


def test_every_other_day_sales_score_the_days_between():
    days = pd.date_range("2024-01-01", periods=9, freq="D")
    forecasts = pd.DataFrame({"item_id": "B", "location_id": "L", "date": days,
                              "step": np.arange(1, 10), "q0.1": 1.0, "q0.5": 2.0,
                              "q0.9": 4.0})  # fmt: skip
    actuals = pd.DataFrame({"item_id": "B", "location_id": "L", "date": days[::2],
                            "demand": 4.0})  # fmt: skip
    report = monitor(forecasts, actuals, segments=[])
    actual = np.array([4, 0, 4, 0, 4, 0, 4, 0, 4.0])  # the days between sold nothing
    row = report.table.iloc[0]
    assert row["n_rows"] == 9
    assert np.isclose(row["wape"], np.abs(actual - 2.0).sum() / actual.sum())  # 0.9
    assert np.isclose(row["bias"], (2.0 * 9 - actual.sum()) / actual.sum())
    assert np.isclose(row["coverage_80"], 5 / 9)


def test_mondays_and_thursdays_are_days():
    days = pd.date_range("2024-01-01", periods=14, freq="D")  # 1 January 2024 is a Monday
    sold = days[days.weekday.isin([0, 3])]
    forecasts = pd.DataFrame({"item_id": "B", "location_id": "L", "date": days,
                              "step": np.arange(1, 15), "q0.1": 0.0, "q0.5": 1.0,
                              "q0.9": 3.0})  # fmt: skip
    actuals = pd.DataFrame({"item_id": "B", "location_id": "L", "date": sold, "demand": 3.0})
    report = monitor(forecasts, actuals, segments=[])
    inside = days[(days >= sold.min()) & (days <= sold.max())]
    actual = np.where(inside.isin(sold), 3.0, 0.0)
    assert report.table["n_rows"].iloc[0] == len(inside)
    assert np.isclose(report.table["wape"].iloc[0], np.abs(actual - 1.0).sum() / actual.sum())


def test_a_weekly_series_with_a_shifted_week_is_not_read_as_days():
    # One week's row dated a day early (a holiday): the week sold, and is not scored as 0.
    weeks = pd.date_range("2024-01-07", periods=6, freq="7D")
    forecasts = pd.DataFrame({"item_id": "A", "location_id": "L", "date": weeks,
                              "step": np.arange(1, 7), "q0.1": 5.0, "q0.5": 10.0,
                              "q0.9": 15.0})  # fmt: skip
    dates = weeks.delete(2).append(pd.DatetimeIndex([weeks[2] - pd.Timedelta(days=1)]))
    actuals = pd.DataFrame({"item_id": "A", "location_id": "L", "date": dates.sort_values(),
                            "demand": 10.0})  # fmt: skip
    report = monitor(forecasts, actuals, segments=[])
    assert report.table["wape"].iloc[0] == 0.0

"""The monitor scores the days an intermittent daily series has no sales row for as 0 demand,
also when the series never sold on two days in a row (its smallest step was 2 days, so no day of
it counted as on its grid, and its zero days stayed unscored as 'no actual yet')."""

import numpy as np
import pandas as pd
import pytest

from forecasting.monitor import monitor
from forecasting.validate import PanelError


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
    # One week's row dated a day early (a holiday): the week sold, and is not scored as 0 (nor
    # left out as "no actual yet", as it was while the row met no forecast: it is refused).
    weeks = pd.date_range("2024-01-07", periods=6, freq="7D")
    forecasts = pd.DataFrame({"item_id": "A", "location_id": "L", "date": weeks,
                              "step": np.arange(1, 7), "q0.1": 5.0, "q0.5": 10.0,
                              "q0.9": 15.0})  # fmt: skip
    dates = weeks.delete(2).append(pd.DatetimeIndex([weeks[2] - pd.Timedelta(days=1)]))
    actuals = pd.DataFrame({"item_id": "A", "location_id": "L", "date": dates.sort_values(),
                            "demand": 10.0})  # fmt: skip
    with pytest.raises(PanelError, match="dated between their weekly forecasts' periods"):
        monitor(forecasts, actuals, segments=[])


def _hand_wape(days, sold, demand, median):
    """Rows and WAPE over the periods from the first to the last sale, the others at 0."""
    inside = days[(days >= sold.min()) & (days <= sold.max())]
    actual = np.where(inside.isin(sold), demand, 0.0)
    return len(inside), np.abs(actual - median).sum() / actual.sum()


def _score_sparse_series(periods, sold, demand, median):
    """Monitor series B (sales rows on ``sold`` only) in a table where series A is listed on
    every period with its forecast exact; B's rows and WAPE (A's are exact, so B's alone)."""
    frames = [pd.DataFrame({"item_id": item, "location_id": "L", "date": periods,
                            "step": np.arange(1, len(periods) + 1), "q0.1": 0.0,
                            "q0.5": level, "q0.9": 3 * level})
              for item, level in (("A", 4.0), ("B", median))]  # fmt: skip
    actuals = pd.concat(
        [
            pd.DataFrame({"item_id": "A", "location_id": "L", "date": periods, "demand": 4.0}),
            pd.DataFrame({"item_id": "B", "location_id": "L", "date": sold, "demand": demand}),
        ]
    )
    actuals["item"] = actuals["item_id"]
    report = monitor(pd.concat(frames), actuals, segments=["item"])
    row = report.table.set_index("segment").loc["B"]
    return row["n_rows"], row["wape"]


def test_a_daily_series_selling_on_one_weekday_scores_its_other_days():
    """In a daily table, sales rows 7 days apart on one weekday read as a weekly grid: the
    daily forecast's other days were left out as 'no actual yet' (WAPE 0.8 where it is 1.6)."""
    days = pd.date_range("2024-01-01", periods=21, freq="D")  # 1 January 2024 is a Monday
    sold = days[days.weekday == 0]
    n_rows, wape = _score_sparse_series(days, sold, 5.0, 1.0)
    expected = _hand_wape(days, sold, 5.0, 1.0)
    assert n_rows == expected[0] == 15
    assert np.isclose(wape, expected[1])  # 1.6


def test_a_daily_series_selling_on_one_day_of_the_month_scores_its_other_days():
    days = pd.date_range("2024-01-05", "2024-03-10", freq="D")
    sold = pd.DatetimeIndex(["2024-01-05", "2024-02-05", "2024-03-05"])
    n_rows, wape = _score_sparse_series(days, sold, 9.0, 0.5)
    expected = _hand_wape(days, sold, 9.0, 0.5)
    assert n_rows == expected[0] == 61
    assert np.isclose(wape, expected[1])


def test_a_weekly_series_selling_once_a_quarter_scores_its_weeks_between():
    weeks = pd.date_range("2024-01-01", "2024-04-29", freq="7D")  # Mondays
    sold = pd.DatetimeIndex(["2024-01-01", "2024-04-01"])  # first Mondays of two quarters
    n_rows, wape = _score_sparse_series(weeks, sold, 6.0, 1.0)
    expected = _hand_wape(weeks, sold, 6.0, 1.0)
    assert n_rows == expected[0] == 14
    assert np.isclose(wape, expected[1])

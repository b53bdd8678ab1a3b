"""Dates with time zones across daylight saving, and datetime objects with changing offsets,
read as their local days everywhere a panel's dates are read (monitor, simulation, validation)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from forecasting.monitor import monitor
from forecasting.spec import PanelSpec
from forecasting.validate import validate_panel
from kernels import simulate
from kernels.simulation import _demand_matrix

# Monitor reads actual dates as a panel does: offsets that change across daylight saving
# (local calendar days) and YYYYMMDD numbers, not only naive ISO text.

DAYS = pd.date_range("2024-03-05", periods=10, freq="D")  # US DST starts 2024-03-10


def _forecasts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": "a",
            "location_id": "x",
            "date": [str(d.date()) for d in DAYS],
            "step": np.arange(1, 11),
            "q0.1": 1.0,
            "q0.5": 5.0,
            "q0.9": 9.0,
        }
    )


def _actuals(dates) -> pd.DataFrame:
    return pd.DataFrame(
        {"item_id": "a", "location_id": "x", "date": dates, "demand": np.arange(10.0)}
    )


@pytest.mark.parametrize(
    "dates",
    [
        [d.isoformat() for d in DAYS.tz_localize("America/New_York")],  # -05:00 then -04:00
        [int(d.strftime("%Y%m%d")) for d in DAYS],
    ],
    ids=["dst-offsets", "yyyymmdd"],
)
def test_monitor_reads_dates_as_a_panel_does(dates):
    report = monitor(_forecasts(), _actuals(dates))
    # Independent reference: |actual - 5| summed over 0..9 is 25, demand 45.
    expected = sum(abs(a - 5.0) for a in range(10)) / sum(range(10))
    row = report.table.iloc[0]
    assert row["n_rows"] == 10
    assert row["wape"] == pytest.approx(expected)
    naive = monitor(_forecasts(), _actuals([str(d.date()) for d in DAYS]))
    assert report.table["wape"].tolist() == naive.table["wape"].tolist()


# simulate reads dates with a time zone as their local calendar days, as a panel does: a
# local-midnight series across the start of daylight saving (a 23-hour day) is ten days, not
# two days made one, and offsets that change there are not refused.

NAIVE = pd.date_range("2024-03-05", periods=10, freq="D")  # US DST starts 2024-03-10
ZONED = NAIVE.tz_localize("America/New_York")
PLAN = pd.DataFrame(
    {
        "item_id": ["a"],
        "location_id": ["x"],
        "reorder_point": [5.0],
        "order_up_to": [20.0],
        "lead_time_mean": [2.0],
        "review_period": [1],
        "lot": [1.0],
    }
)


def _demand(dates) -> pd.DataFrame:
    return pd.DataFrame(
        {"item_id": "a", "location_id": "x", "date": dates, "demand": np.arange(10.0)}
    )


@pytest.mark.parametrize(
    "dates",
    [pd.Series(ZONED), [d.isoformat() for d in ZONED]],
    ids=["tz-aware", "offset-text"],
)
@pytest.mark.parametrize("start", [None, "2024-03-08", "2024-03-08T00:00:00-05:00"])
def test_simulate_zoned_dates_are_local_days(dates, start):
    naive = simulate(PLAN, _demand(NAIVE), on_hand=10, start=start and start[:10])
    zoned = simulate(PLAN, _demand(dates), on_hand=10, start=start)
    first = 0 if start is None else 3
    # Independent reference: the days simulated are the calendar days from the start.
    assert list(zoned.days) == list(NAIVE[first:])
    assert zoned.overall["days"] == 10 - first
    assert zoned.overall["demand"] == sum(range(first, 10))
    pd.testing.assert_series_equal(zoned.overall, naive.overall)
    pd.testing.assert_frame_equal(zoned.daily(), naive.daily())


# Datetime objects whose UTC offset changes across daylight saving (a database driver's fixed
# offsets, timestamps parsed one by one) are their local calendar days, as the same dates written
# as text are: pandas read the rows after the change as missing and the panel was refused.

WALL_DAYS = [dt.date(2024, 3, 8) + dt.timedelta(days=k) for k in range(5)]  # US DST: 2024-03-10


def _dst_offset(day: dt.date) -> dt.timezone:
    return dt.timezone(dt.timedelta(hours=-5 if day < dt.date(2024, 3, 10) else -4))


def _wall_panel(dates) -> pd.DataFrame:
    n = len(dates)
    return pd.DataFrame(
        {"item_id": ["a"] * n, "location_id": ["x"] * n, "date": dates, "demand": np.arange(n)}
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda d: dt.datetime(d.year, d.month, d.day, tzinfo=_dst_offset(d)),
        lambda d: pd.Timestamp(dt.datetime(d.year, d.month, d.day, tzinfo=_dst_offset(d))),
    ],
    ids=["datetime", "Timestamp"],
)
def test_objects_with_changing_offsets_are_local_days(make):
    values = pd.Series([make(d) for d in WALL_DAYS], dtype=object)
    clean, report = validate_panel(_wall_panel(values), PanelSpec())
    # Independent reference: each value's own wall-clock calendar day.
    assert [d.date() for d in clean["date"]] == WALL_DAYS
    assert report.freq == "D"
    text, _ = validate_panel(_wall_panel([v.isoformat() for v in values]), PanelSpec())
    pd.testing.assert_frame_equal(clean, text)


def test_datetime_objects_with_changing_offsets_are_local_days():
    winter, summer = dt.timezone(dt.timedelta(hours=1)), dt.timezone(dt.timedelta(hours=2))
    days = [
        dt.datetime(2024, 3, 30, tzinfo=winter),
        dt.datetime(2024, 3, 31, tzinfo=winter),
        dt.datetime(2024, 4, 1, tzinfo=summer),
    ]
    demand = pd.DataFrame(
        {"item_id": "a", "location_id": "F", "date": pd.Series(days, dtype=object),
         "demand": [1.0, 2.0, 3.0]}
    )  # fmt: skip
    keys = pd.DataFrame({"item_id": ["a"], "location_id": ["F"]})
    matrix, all_days, _ = _demand_matrix(demand, keys, ["(a, F)"], None)
    # By hand: three consecutive local days, one demand each.
    assert list(pd.DatetimeIndex(all_days).date) == [d.date() for d in days]
    np.testing.assert_array_equal(matrix, [[1.0, 2.0, 3.0]])

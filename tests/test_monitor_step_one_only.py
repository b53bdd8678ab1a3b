"""Forecasts holding step 1 rows alone got no grain check: the period was read from the steps
past 1 only. Weekly step-1 forecasts (70 a week) scored WAPE 6.0 against daily actuals (10 a
day), and daily step-1 forecasts compared with a weekly backtest's WAPE, without a word. Step-1
rows sit on their grid, so their spacing bounds the period: daily ones on consecutive days
against a weekly (or monthly) reference are refused; step-1 rows a week apart may be weekly
forecasts or daily ones made weekly, which the dates do not tell: a note says so."""

import pandas as pd
import pytest

from forecasting.monitor import monitor
from forecasting.validate import PanelError

REFERENCE = pd.DataFrame(
    {"segment_type": ["all"], "segment": ["all"], "wape": [0.2], "coverage_80": [0.8]}
)


def _step_one(dates, median):
    return pd.DataFrame({"item_id": "A", "location_id": "L", "date": dates, "step": 1,
                         "q0.1": median * 0.8, "q0.5": median, "q0.9": median * 1.2})  # fmt: skip


def _actuals(dates, demand):
    return pd.DataFrame({"item_id": "A", "location_id": "L", "date": dates, "demand": demand})


DAYS = pd.date_range("2024-01-01", periods=28, freq="D")
WEEKS = pd.date_range("2024-01-01", periods=4, freq="7D")


@pytest.mark.parametrize("frequency, grain", [("W", "weekly"), ("M", "monthly")])
def test_consecutive_daily_step_one_rows_against_a_longer_reference_are_refused(frequency, grain):
    with pytest.raises(PanelError, match=f"{grain} backtest.*1 days apart, are at most daily"):
        monitor(
            _step_one(DAYS, 10.0),
            _actuals(DAYS, 10.0),
            segments=[],
            reference=REFERENCE,
            reference_frequency=frequency,
        )


def test_weekly_step_one_rows_against_daily_actuals_are_noted():
    report = monitor(_step_one(WEEKS, 70.0), _actuals(DAYS, 10.0), segments=[])
    assert report.table["wape"].round(6).tolist() == [6.0] * 4  # if weekly: a week vs a day
    assert any("step 1 rows alone" in n and "7 days apart" in n for n in report.notes)


def test_weekly_step_one_rows_against_a_daily_reference_are_noted():
    report = monitor(
        _step_one(WEEKS, 70.0),
        _actuals(WEEKS, 70.0),
        segments=[],
        reference=REFERENCE,
        reference_frequency="D",
    )
    assert any("only daily ones compare" in n for n in report.notes), report.notes


def test_step_one_rows_on_their_actuals_grid_have_no_note():
    for dates, median in ((WEEKS, 70.0), (DAYS, 10.0)):
        report = monitor(_step_one(dates, median), _actuals(dates, median), segments=[])
        assert not any("step 1 rows alone" in n for n in report.notes), report.notes

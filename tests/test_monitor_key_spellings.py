"""Monitor: actuals whose keys are the forecasts' spelled another way (a spreadsheet's 42 for
the forecasts' 0042) are refused, not left unscored while the other series decide."""

import numpy as np
import pandas as pd
import pytest

from forecasting.monitor import monitor
from forecasting.validate import PanelError


def _tables(actual_ids):
    dates = pd.date_range("2024-03-01", periods=7, freq="D")
    forecasts, actuals = [], []
    for k, item in enumerate(["0042", "0043", "A1"]):
        median = 10.0 + k
        forecasts.append(
            pd.DataFrame(
                {
                    "item_id": item,
                    "location_id": "FC1",
                    "date": dates,
                    "step": np.arange(1, 8),
                    "q0.1": median - 3,
                    "q0.5": median,
                    "q0.9": median + 3,
                }
            )
        )
    for item in actual_ids:
        # the two leading-zero items sold far from their forecasts, A1 exactly as forecast
        demand = 11.0 if item == "A1" else 40.0
        actuals.append(
            pd.DataFrame({"item_id": item, "location_id": "FC1", "date": dates, "demand": demand})
        )
    return pd.concat(forecasts, ignore_index=True), pd.concat(actuals, ignore_index=True)


def test_same_spelling_scores_every_series():
    forecasts, actuals = _tables(["0042", "0043", "A1"])
    report = monitor(forecasts, actuals)
    overall = report.table[report.table["segment_type"] == "all"]
    # by hand: |40-10|*7 + |40-11|*7 + |11-12|*7 over (40+40+11)*7
    assert overall["wape"].iloc[0] == pytest.approx((30 + 29 + 1) / 91)


def test_leading_zeros_dropped_by_a_spreadsheet_are_refused():
    forecasts, actuals = _tables(["42", "43", "A1"])
    with pytest.raises(PanelError, match=r"spelled like forecast series.*'42'.*'0042'"):
        monitor(forecasts, actuals)


def test_actuals_moved_to_another_spelling_part_way_are_refused():
    forecasts, actuals = _tables(["0042", "0043", "A1"])
    later = actuals["item_id"].isin(["0042", "0043"]) & (actuals["date"] >= "2024-03-03")
    actuals.loc[later, "item_id"] = actuals.loc[later, "item_id"].str.lstrip("0")
    with pytest.raises(PanelError, match=r"spelled like forecast series.*'42'.*'0042'"):
        monitor(forecasts, actuals)


def test_case_and_spaces_are_refused_too():
    forecasts, actuals = _tables(["0042", "0043", "A1"])
    actuals["item_id"] = actuals["item_id"].replace({"A1": "a1 "})
    with pytest.raises(PanelError, match=r"'a1 '.*'A1'"):
        monitor(forecasts, actuals)


def test_other_series_in_the_actuals_are_fine():
    forecasts, actuals = _tables(["0042", "0043", "A1", "B9"])
    report = monitor(forecasts, actuals)
    overall = report.table[report.table["segment_type"] == "all"]
    assert overall["wape"].iloc[0] == pytest.approx((30 + 29 + 1) / 91)


def test_stores_01_and_1_each_with_their_own_actuals_are_two_series():
    forecasts, actuals = _tables(["0042", "0043", "A1"])
    other_store = actuals[actuals["item_id"] == "A1"].assign(location_id="01", demand=99.0)
    forecasts = forecasts.assign(location_id="1")
    actuals = pd.concat([actuals.assign(location_id="1"), other_store], ignore_index=True)
    report = monitor(forecasts, actuals)  # store 01 is not forecast: its actuals are unused
    overall = report.table[report.table["segment_type"] == "all"]
    assert overall["wape"].iloc[0] == pytest.approx((30 + 29 + 1) / 91)

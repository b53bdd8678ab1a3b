"""A monthly panel on the 30th forecasts 30 January, 29 February, 30 March (the grid clips short
months): the monitor must read those three rows as one run from 30 January, not split the
February row off into a run from 29 January."""

import pandas as pd

from forecasting.monitor import monitor


def test_monitor_monthly_30th_panel_is_one_run():
    dates = pd.to_datetime(["2024-01-30", "2024-02-29", "2024-03-30", "2024-04-30"])
    forecasts = pd.DataFrame(
        {
            "item_id": "a",
            "location_id": "x",
            "date": dates[:3],
            "step": [1, 2, 3],
            "q0.1": 1.0,
            "q0.5": 2.0,
            "q0.9": 3.0,
        }
    )
    actuals = pd.DataFrame(
        {"item_id": "a", "location_id": "x", "date": dates, "demand": [2.0, 2.0, 2.0, 2.0]}
    )
    table = monitor(forecasts, actuals).table
    overall = table[table["segment_type"] == "all"]
    assert overall["origin"].tolist() == [pd.Timestamp("2024-01-30")]
    assert overall["n_rows"].tolist() == [3]


def test_monitor_monthly_28th_panel_keeps_its_day():
    # A series on the 28th keeps the 28th, also on 28 February (a month end).
    dates = pd.to_datetime(["2023-01-28", "2023-02-28", "2023-03-28"])
    forecasts = pd.DataFrame(
        {"item_id": "a", "location_id": "x", "date": dates, "step": [2, 3, 4], "q0.5": 2.0}
    )
    actuals = pd.DataFrame({"item_id": "a", "location_id": "x", "date": dates, "demand": 2.0})
    table = monitor(forecasts, actuals).table
    overall = table[table["segment_type"] == "all"]
    assert overall["origin"].tolist() == [pd.Timestamp("2022-12-28")]

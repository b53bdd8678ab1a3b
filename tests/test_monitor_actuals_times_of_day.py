"""The monitor's actuals with times of day (a POS or ERP export's time stamps) are refused, as a
panel's are: matched by date, a forecast row met none of them and every forecast day before
the last sale was scored as a gap of 0 demand (WAPE inf against a perfect forecast)."""

import numpy as np
import pandas as pd
import pytest

from forecasting.monitor import monitor
from forecasting.validate import PanelError


def _tables(stamp: str):
    dates = pd.date_range("2025-04-01", periods=14, freq="D")
    forecasts = pd.DataFrame(
        {
            "item_id": "A",
            "location_id": "FC1",
            "date": dates[7:],
            "step": np.arange(1, 8),
            "q0.1": 5.0,
            "q0.5": 10.0,
            "q0.9": 15.0,
        }
    )
    actuals = pd.DataFrame(
        {
            "item_id": "A",
            "location_id": "FC1",
            "date": [d.strftime(stamp) for d in dates],
            "demand": 10.0,  # the forecast's median exactly: WAPE 0
        }
    )
    return forecasts, actuals


def test_whole_days_score_as_they_are():
    forecasts, actuals = _tables("%Y-%m-%d")
    report = monitor(forecasts, actuals, segments=[])
    assert report.table["wape"].tolist() == [0.0]
    # a local midnight with its offset is that day
    forecasts, actuals = _tables("%Y-%m-%dT00:00:00+02:00")
    assert monitor(forecasts, actuals, segments=[]).table["wape"].tolist() == [0.0]


def test_actuals_with_times_of_day_are_refused():
    forecasts, actuals = _tables("%Y-%m-%d 09:30:00")
    # Hand reference: the 7 forecast days sold 10 units each, the median said 10: WAPE 0.
    # Read by date, the 09:30 rows matched no forecast row and scored 0 demand (WAPE inf).
    with pytest.raises(PanelError, match="times of day in the actuals table"):
        monitor(forecasts, actuals, segments=[])

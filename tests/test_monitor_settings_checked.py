"""monitor() checks its threshold and tolerance as the command line's MonitorConfig does: a
NaN WAPE threshold (or coverage tolerance) was accepted and never flagged the WAPE (coverage)
of any segment, a NaN comparing False; a negative tolerance flagged every interval."""

from __future__ import annotations

import pandas as pd
import pytest

from forecasting.monitor import monitor


def _tables():
    dates = pd.date_range("2024-01-01", periods=10)
    forecasts = pd.DataFrame({"item_id": "a", "location_id": "x", "date": dates,
                              "step": range(1, 11), "q0.1": 5.0, "q0.5": 10.0,
                              "q0.9": 15.0})  # fmt: skip
    actuals = pd.DataFrame({"item_id": "a", "location_id": "x", "date": dates,
                            "demand": 100.0})  # fmt: skip
    return forecasts, actuals


@pytest.mark.parametrize(
    "setting",
    [
        {"wape_threshold": float("nan")},
        {"wape_threshold": -0.1},
        {"coverage_tolerance": float("nan")},
        {"coverage_tolerance": -0.5},
        {"coverage_tolerance": 0.0},
    ],
)
def test_bad_settings_are_refused(setting):
    with pytest.raises(ValueError, match=next(iter(setting))):
        monitor(*_tables(), segments=[], **setting)


def test_valid_settings_flag_as_before():
    checks = monitor(*_tables(), segments=[], wape_threshold=0.2, coverage_tolerance=0.05).checks
    assert checks["coverage_flag"].iloc[0]  # coverage 0 of an 80% interval

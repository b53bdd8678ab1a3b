"""A segment that sold nothing while its forecast expected demand (an infinite WAPE) is
flagged, as the README says, also when its reference has no WAPE: no demand in the backtest's
windows (WAPE NaN in metrics.json) or in every earlier origin. It was left unflagged (the
relative change inf - NaN is NaN) and the monitor answered 'no retraining needed'."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.monitor import monitor


def _tables():
    dates = pd.date_range("2024-01-01", periods=14)
    rows, actual = [], []
    for item, dept in (("a", "gone"), ("b", "kept")):
        for origin in (0, 7):
            for step in range(1, 8):
                rows.append({"item_id": item, "location_id": "L", "date": dates[origin + step - 1],
                             "step": step, "q0.1": 3.0, "q0.5": 5.0, "q0.9": 7.0})  # fmt: skip
        for date in dates:
            demand = 0.0 if dept == "gone" else 5.0
            actual.append({"item_id": item, "location_id": "L", "date": date, "demand": demand,
                           "dept": dept})  # fmt: skip
    return pd.DataFrame(rows), pd.DataFrame(actual)


def _gone(report):
    return report.checks.set_index("segment").loc["gone"]


def test_no_demand_in_any_origin_against_an_expected_demand_is_flagged():
    report = monitor(*_tables(), segments=["dept"])
    gone = _gone(report)
    # By hand: 35 units forecast at the latest origin, none sold.
    assert gone["wape"] == np.inf
    assert gone["wape_flag"] and gone["flagged"]
    assert "dept=gone" in report.recommendation()
    assert not report.checks.set_index("segment").loc["kept", "flagged"]


def test_a_reference_without_demand_does_not_hide_an_infinite_wape():
    reference = pd.DataFrame(
        [
            {"segment_type": "all", "segment": "all", "wape": 0.5, "coverage_80": 0.5},
            {"segment_type": "dept", "segment": "gone", "wape": np.nan, "coverage_80": 0.0},
            {"segment_type": "dept", "segment": "kept", "wape": 0.0, "coverage_80": 1.0},
        ]
    )
    report = monitor(*_tables(), segments=["dept"], reference=reference)
    gone = _gone(report)
    assert gone["wape"] == np.inf and gone["flagged"]
    assert report.to_dict()["retrain"]

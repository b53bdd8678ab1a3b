"""A reference row whose coverage is null (a metrics.json of a backtest whose model lacks the
interval writes None) compares as no reference, as a missing coverage column or segment row
does: the interval's coverage is flagged when it is off its level. Its NaN made the move from
the reference NaN, and a coverage of 0.0 of an 80% interval went unflagged."""

from __future__ import annotations

import pandas as pd

from forecasting.monitor import check_reference, monitor


def _tables():
    dates = pd.date_range("2024-01-01", periods=10)
    forecasts = pd.DataFrame({"item_id": "a", "location_id": "x", "date": dates,
                              "step": range(1, 11), "q0.1": 5.0, "q0.5": 10.0,
                              "q0.9": 15.0})  # fmt: skip
    # Every actual is above the interval: coverage 0 of 10 (WAPE 0.9).
    actuals = pd.DataFrame({"item_id": "a", "location_id": "x", "date": dates, "demand": 100.0,
                            "dept": "A"})  # fmt: skip
    return forecasts, actuals


def test_null_reference_coverage_does_not_hide_a_drifted_interval():
    rows = [
        {"model": "m", "segment_type": "all", "segment": "all", "wape": 0.9, "coverage_80": None},
        {"model": "m", "segment_type": "dept", "segment": "A", "wape": 0.9, "coverage_80": 0.8},
    ]
    reference = check_reference(pd.DataFrame(rows))
    report = monitor(*_tables(), segments=["dept"], reference=reference)
    checks = report.checks.set_index("segment")
    assert checks.loc["A", "coverage_80"] == 0.0
    assert checks.loc["A", "coverage_flag"]  # reference 0.8: moved 0.8
    assert checks.loc["all", "coverage_flag"]  # no reference coverage: 0.8 off its level
    assert checks.loc["all", "coverage_drifted"] == "coverage_80"
    assert not checks.loc["all", "wape_flag"]  # WAPE 0.9 as the reference's

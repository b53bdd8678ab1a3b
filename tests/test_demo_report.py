"""The demo report's WAPE and bias tables keep a segment without demand in its windows.

pandas' pivot_table drops a row whose values are all NaN: a segment that sold nothing over its
backtest windows (WAPE and bias undefined, a forecast of positive demand there is all error)
vanished from both tables of report.html while metrics.csv holds it.
"""

from types import SimpleNamespace

import numpy as np
import pandas as pd

from forecasting.backtest import BacktestResult
from serving.demo.report import _backtest
from serving.report import Report


def _metrics() -> pd.DataFrame:
    rows = []
    for model in ("lstm", "tft"):
        rows.append({"model": model, "segment_type": "all", "segment": "all", "wape": 0.5,
                     "mase": 0.8, "sql": 0.4, "bias": -0.1, "coverage_80": 0.8,
                     "coverage_90": 0.9, "n_windows": 4})  # fmt: skip
        for segment, wape, bias in (("grocery", 0.4, -0.1), ("snow", np.nan, np.nan)):
            rows.append({"model": model, "segment_type": "category", "segment": segment,
                         "wape": wape, "mase": 0.8, "sql": 0.4, "bias": bias,
                         "coverage_80": 0.8, "coverage_90": 0.9, "n_windows": 2})  # fmt: skip
    return pd.DataFrame(rows)


def test_report_keeps_segments_without_demand(tmp_path):
    metrics = _metrics()
    outcome = SimpleNamespace(champion="tft", backtest=BacktestResult(pd.DataFrame(), metrics))
    report = Report("t")
    _backtest(report, outcome, tmp_path)
    tables = [p for p in report.sections[0].parts if "<table" in p]
    wape, bias = tables[1], tables[2]
    assert "grocery" in wape and "grocery" in bias
    # The segment is in metrics.csv: the report's tables that summarise it list it too.
    assert "snow" in wape
    assert "snow" in bias


def test_report_segment_values_match_metrics(tmp_path):
    metrics = _metrics()
    outcome = SimpleNamespace(champion="tft", backtest=BacktestResult(pd.DataFrame(), metrics))
    report = Report("t")
    _backtest(report, outcome, tmp_path)
    wape = [p for p in report.sections[0].parts if "<table" in p][1]
    assert wape.split("<tbody>")[1].count("<tr") == 2  # both segments of the metrics
    assert "0.4" in wape

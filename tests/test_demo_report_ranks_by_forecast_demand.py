"""The demo report's "top SKU x FC by forecast demand" ranks by the forecast over the horizon.

It sorted by the plan's ``demand_mean``, the demand over each row's own protection interval: the
lead time (1 to 5 days by the FC's distance band) plus, for B and C rows reviewed weekly, 7 days.
On 30 M5 series (horizon 21) a C item at a far FC forecast at 13.7 units a day ranked 2nd, above
an A item at 21.9, and one at 2.1 units a day made the top 15 while two at 7.5 and more did not.
"""

import re
from types import SimpleNamespace

import pandas as pd

from serving.demo.report import _by_forecast_demand, _plan
from serving.report import Report


def _planning() -> SimpleNamespace:
    keys = pd.DataFrame({"item_id": ["A_FAST", "C_SLOW"], "location_id": "FC1"})
    # A: continuous review, 2-day lead time, 20 a day; C: weekly review, 5-day lead time, 5 a day
    plan = keys.assign(review=["continuous", "periodic"], lead_time_mean=[2.0, 5.0],
                       demand_mean=[40.0, 60.0], reorder_point=[50.0, 70.0])  # fmt: skip
    cumulative = keys.assign(horizon=21, **{"q0.5": [420.0, 105.0]})
    dc = keys[["item_id"]].assign(dc_safety_stock=1.0)
    return SimpleNamespace(plan=plan, dc_plan=dc, allocation=plan.iloc[:0], cumulative=cumulative)


def test_rows_rank_by_the_forecast_over_the_horizon_not_the_protection_interval():
    assert _by_forecast_demand(_planning())["item_id"].tolist() == ["A_FAST", "C_SLOW"]


def test_the_reports_top_table_lists_the_fast_mover_first():
    report = Report("t")
    _plan(report, _planning())  # type: ignore[arg-type]
    first = report.html().find("A_FAST")
    assert 0 <= first < report.html().find("C_SLOW")
    assert re.search(r"top SKU x FC by forecast demand", report.html())

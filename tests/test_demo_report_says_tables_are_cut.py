"""A report table that shows only the first rows of a longer table says so, and where the rest is.

The DC table showed the first 10 SKUs by name (200 in the default demo), the allocation the first
12 rows (of about 1,600) and the rejected units the first 15, under captions that read as the
whole plan: nothing told a reader that the other SKUs existed or that plan/dc.csv holds them.
"""

import re
from types import SimpleNamespace

import pandas as pd

from serving.demo.report import _inspection, _plan
from serving.report import Report


def _captions(report: Report) -> list[str]:
    return re.findall(r"<figcaption>(.*?)</figcaption>", report.html())


def _planning(skus: int) -> SimpleNamespace:
    keys = pd.DataFrame({"item_id": [f"SKU{k:03d}" for k in range(skus)], "location_id": "FC0"})
    plan = keys.assign(demand_mean=range(skus), reorder_point=1.0)
    dc = keys[["item_id"]].assign(dc_safety_stock=2.0)
    allocation = keys.assign(allocation=1, expected_sales=1.5)
    cumulative = keys.assign(horizon=14, **{"q0.5": range(skus)})
    return SimpleNamespace(plan=plan, dc_plan=dc, allocation=allocation, cumulative=cumulative)


def test_cut_plan_tables_say_how_many_rows_and_where_the_rest_is():
    report = Report("t")
    _plan(report, _planning(30))  # type: ignore[arg-type]
    top, dc, allocation = _captions(report)
    assert "first 15 of 30 rows" in top and "plan/plan.parquet" in top
    assert "first 10 of 30 rows" in dc and "plan/dc.csv" in dc
    assert "first 12 of 30 rows" in allocation and "plan/allocation.csv" in allocation


def test_whole_tables_keep_their_captions():
    report = Report("t")
    _plan(report, _planning(5))  # type: ignore[arg-type]
    assert _captions(report) == [
        "top SKU x FC by forecast demand",
        "the DC: service time quoted to FCs and stock",
        "scarce inbound split across FCs",
    ]


def test_cut_rejected_and_review_tables_say_so(tmp_path):
    n = 25
    ids = [f"u{k}" for k in range(2 * n)]
    items = pd.DataFrame({"item_id": ids, "verdict": ["reject"] * n + ["review"] * n,
                          "reasons": "damage"})  # fmt: skip
    rejected = pd.DataFrame({"item_id": [f"SKU{k}" for k in range(n)], "location_id": "FC1",
                             "rejected_units": 1, "review_units": 1})  # fmt: skip
    queue = [{"item_id": i, "sku": "SKU1", "location_id": "FC1", "queued": "t"} for i in ids[n:]]
    store = SimpleNamespace(queue=lambda limit: queue[:limit])
    views = pd.DataFrame({"item_id": [], "view": [], "heatmap": []})
    inspection = SimpleNamespace(items=items, views=views, rejected=rejected, store=store)
    report = Report("t")
    _inspection(report, inspection)  # type: ignore[arg-type]
    review, taken = _captions(report)
    assert review.startswith("review queue, oldest first") and "first 20 of 25 rows" in review
    assert "first 15 of 25 rows" in taken and "inspection/rejected.csv" in taken

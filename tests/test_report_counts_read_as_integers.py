"""The demo report's simulation table: counts read as whole numbers, shares as percentages.

Every row of the table went through one 3-decimal format: "keys 72.000", "orders 304.000",
"stockout_days 135.000", and a fill rate of 0.819 beside them; the plan table's orders read
"76.000" units.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import numpy as np
import pandas as pd

from serving.demo.report import _plan, _simulation
from serving.report import Report

# What kernels.simulation.compare returns as ``summary`` (the quick demo's, 2026-12-07).
SUMMARY = pd.DataFrame(
    {
        "plan": [72, 28, 6637, 5439, 1198, 5439 / 6637, 135, 0.067, 261, 1250.607, 56.693, 5.276,
                 304, 5816],
        "weeks_of_supply": [72, 28, 6637, 4955, 1682, 4955 / 6637, 185, 0.092, 360, 1249.786,
                            51.682, 5.273, 226, 4498],
    },
    index=["keys", "days", "demand", "served", "unmet", "fill_rate", "stockout_days",
           "stockout_rate", "empty_days", "avg_on_hand", "turns", "days_of_supply", "orders",
           "units_ordered"],
    dtype=np.float64,
)  # fmt: skip


def _rows(page: str) -> list[list[str]]:
    return [
        [c.strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", page, re.S)
    ]


def _simulated(summary: pd.DataFrame, tmp_path) -> dict[str, list[str]]:
    """The simulation table's rows as rendered: metric -> the rules' cells."""
    png = tmp_path / "inventory.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n")
    plan = pd.DataFrame({"item_id": ["A"], "location_id": ["X"]})
    planning = SimpleNamespace(
        plan=plan,
        cumulative=plan.assign(horizon=7, **{"q0.5": 1.0}),
        simulation=SimpleNamespace(summary=summary, plot=lambda keys, path: png),
    )
    report = Report("t")
    _simulation(report, planning, tmp_path)  # type: ignore[arg-type]
    return {cells[0]: cells[1:] for cells in _rows(report.html()) if cells[0] in SUMMARY.index}


def test_the_simulation_table_shows_counts_as_whole_numbers(tmp_path):
    rows = _simulated(SUMMARY, tmp_path)
    assert set(rows) == set(SUMMARY.index)
    assert rows["keys"] == ["72", "72"] and rows["days"] == ["28", "28"]
    assert rows["stockout_days"] == ["135", "185"] and rows["orders"] == ["304", "226"]
    assert rows["empty_days"] == ["261", "360"]
    assert rows["demand"] == ["6,637", "6,637"] and rows["units_ordered"] == ["5,816", "4,498"]
    assert rows["fill_rate"] == ["81.9%", "74.7%"] and rows["stockout_rate"] == ["6.7%", "9.2%"]
    assert rows["avg_on_hand"] == ["1,250.6", "1,249.8"] and rows["turns"] == ["56.7", "51.7"]
    assert not any(cell.endswith(".000") for cells in rows.values() for cell in cells)


def test_the_simulation_table_keeps_fractional_units_and_tiny_shares(tmp_path):
    # A user's table in kilograms: its units keep decimals; a stockout rate of 0.04% does not
    # read 0.0% beside its stockout days, nor a fill rate of 99.96% read 100.0%.
    summary = SUMMARY.copy()
    summary.loc["demand"] = [6637.25, 6637.25]
    summary.loc["fill_rate"] = [0.9996, 1.0]
    summary.loc["stockout_rate"] = [0.0004, 0.0]
    summary.loc["turns"] = [np.nan, 51.682]  # nothing on hand: no turns
    rows = _simulated(summary, tmp_path)
    assert rows["demand"] == ["6,637.25", "6,637.25"]
    assert rows["fill_rate"] == ["99.96%", "100.0%"]
    assert rows["stockout_rate"] == ["0.04%", "0.0%"]
    assert rows["turns"] == ["", "51.7"]


def test_the_plan_table_shows_whole_order_quantities_as_integers():
    plan = pd.DataFrame({"item_id": ["A", "B"], "location_id": "X", "reorder_point": [66.47, 5.0],
                         "order_qty": [76.0, 0.0]})  # fmt: skip
    cumulative = plan[["item_id", "location_id"]].assign(horizon=7, **{"q0.5": [2.0, 1.0]})
    planning = SimpleNamespace(plan=plan, cumulative=cumulative, allocation=plan.iloc[:0],
                               dc_plan=pd.DataFrame({"item_id": ["A"]}))  # fmt: skip
    report = Report("t")
    _plan(report, planning)  # type: ignore[arg-type]
    page = report.html()
    assert "<th>reorder_point</th>\n      <th>order_qty</th>" in page
    assert [r[-2:] for r in _rows(page)[:2]] == [["66.470", "76"], ["5.000", "0"]]

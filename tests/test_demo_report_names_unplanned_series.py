"""`stockcast demo --data`: a series of the table that the plan leaves out is named in the report.

Only series with a row in the weeks before the cutoff are planned and replayed. One first sold in
the held-back weeks (or ended weeks before them) counted in the report's "series" but was in no
plan, simulation or monitor row, and its held-back demand in no total, without a word: a table of
6 series showed 6 series and a simulation of 5 keys, 55 of its 997 held-back units unaccounted for.
"""

import re
from types import SimpleNamespace

import pandas as pd

from serving.demo.report import _plan
from serving.report import Report


def _data(keys: list[tuple[str, str, str, int]], cutoff: str) -> SimpleNamespace:
    frame = pd.DataFrame(keys, columns=["item_id", "location_id", "date", "demand"])
    frame["date"] = pd.to_datetime(frame["date"])
    cut = pd.Timestamp(cutoff)
    return SimpleNamespace(frame=frame, cutoff=cut, holdout=frame[frame["date"] >= cut])


def _planning(keys: list[tuple[str, str]]) -> SimpleNamespace:
    plan = pd.DataFrame(keys, columns=["item_id", "location_id"]).assign(demand_mean=1.0)
    dc = plan[["item_id"]].drop_duplicates().assign(dc_safety_stock=2.0)
    cumulative = plan[["item_id", "location_id"]].assign(horizon=14, **{"q0.5": 1.0})
    return SimpleNamespace(plan=plan, dc_plan=dc, allocation=plan.iloc[:0], cumulative=cumulative)


def _notes(report: Report) -> list[str]:
    return re.findall(r'class="note"[^>]*>(.*?)<', report.html())


def test_a_series_first_sold_after_the_cutoff_is_named_with_its_demand():
    rows = [("A", "X", "2024-01-01", 3), ("A", "X", "2024-01-20", 4),
            ("NEW", "X", "2024-01-20", 5), ("NEW", "X", "2024-01-21", 6)]  # fmt: skip
    data = _data(rows, "2024-01-15")
    report = Report("t")
    _plan(report, _planning([("A", "X")]), data)  # type: ignore[arg-type]
    notes = _notes(report)
    assert len(notes) == 1
    assert "1 of 2 series is not planned" in notes[0] and "(NEW, X)" in notes[0]
    assert "its 11 units of held-back demand are not" in notes[0]


def test_a_fully_planned_table_has_no_note():
    data = _data([("A", "X", "2024-01-01", 3), ("A", "X", "2024-01-20", 4)], "2024-01-15")
    report = Report("t")
    _plan(report, _planning([("A", "X")]), data)  # type: ignore[arg-type]
    assert _notes(report) == []

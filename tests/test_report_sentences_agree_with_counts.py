"""The demo report's sentences agree with their counts: a day with one rejected unit read
"1 are rejected", one unplanned series "1 of 2 series are not planned", and the monitor's
advice "retrain for 1 drifted segment(s)"."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pandas as pd

from forecasting.monitor import MonitorReport
from serving.demo.report import _inspection, _plan
from serving.report import Report
from serving.review import ReviewStore


def _inspection_text(tmp_path, verdicts: list[str]) -> str:
    items = pd.DataFrame({"item_id": [f"u{k}" for k in range(len(verdicts))],
                          "verdict": verdicts, "reasons": ""})  # fmt: skip
    views = pd.DataFrame({"item_id": [], "view": [], "heatmap": []})
    rejected = pd.DataFrame({"item_id": ["SKU1"], "location_id": ["FC1"], "rejected_units": [1],
                             "review_units": [0]})  # fmt: skip
    tmp_path.mkdir(parents=True, exist_ok=True)
    inspection = SimpleNamespace(items=items, views=views, rejected=rejected,
                                 store=ReviewStore(tmp_path / "review.db"))  # fmt: skip
    report = Report("t")
    _inspection(report, inspection)  # type: ignore[arg-type]
    return re.findall(r"<p>(A day of .*?)</p>", report.html())[0]


def test_the_inspection_sentence_agrees_with_one_unit(tmp_path):
    text = _inspection_text(tmp_path, ["pass", "reject"])
    assert "A day of 2 inbound units" in text
    assert "1 passes, 0 wait for review, 1 is rejected and leaves sellable stock" in text
    one = _inspection_text(tmp_path / "one", ["review"])
    assert "A day of 1 inbound unit through" in one and "1 waits for review" in one


def test_the_inspection_sentence_agrees_with_two_units(tmp_path):
    text = _inspection_text(tmp_path, ["pass", "pass", "reject", "reject", "review", "review"])
    assert "2 pass, 2 wait for review, 2 are rejected and leave sellable stock" in text


def _unplanned_note(keys: list[str], planned: list[str], demand: list[float]) -> str:
    frame = pd.DataFrame({"item_id": keys, "location_id": "X", "demand": demand,
                          "date": pd.Timestamp("2024-01-20")})  # fmt: skip
    data = SimpleNamespace(frame=frame, cutoff=pd.Timestamp("2024-01-15"), holdout=frame)
    plan = pd.DataFrame({"item_id": planned, "location_id": "X"})
    planning = SimpleNamespace(plan=plan, dc_plan=plan[["item_id"]], allocation=plan.iloc[:0],
                               cumulative=plan.assign(horizon=7, **{"q0.5": 1.0}))  # fmt: skip
    report = Report("t")
    _plan(report, planning, data)  # type: ignore[arg-type]
    return re.findall(r'class="note"[^>]*>(.*?)<', report.html())[0]


def test_the_unplanned_note_agrees_with_one_and_two_series():
    one = _unplanned_note(["A", "N"], ["A"], [3.0, 1.0])
    assert "1 of 2 series is not planned" in one
    assert "its 1 unit of held-back demand is not in the simulation" in one
    two = _unplanned_note(["A", "N", "M"], ["A"], [3.0, 2.0, 3.0])
    assert "2 of 3 series are not planned" in two
    assert "their 5 units of held-back demand are not in the simulation" in two


def _recommendation(n: int) -> str:
    checks = pd.DataFrame({"segment_type": "category", "segment": [f"c{k}" for k in range(n)],
                           "flagged": True})  # fmt: skip
    return MonitorReport(pd.DataFrame(), checks, 0.15, 0.1).recommendation()


def test_the_monitor_recommendation_counts_in_words():
    assert _recommendation(1) == "retrain for 1 drifted segment: category=c0"
    assert _recommendation(2) == "retrain for 2 drifted segments: category=c0, category=c1"

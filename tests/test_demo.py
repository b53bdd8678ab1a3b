"""The main job: ``stockcast demo --quick`` runs the whole loop and writes a report people read."""

from __future__ import annotations

import re
import sqlite3

import pandas as pd
import pytest

from serving.demo.report import SECTIONS
from serving.package import read_package


@pytest.fixture(scope="module")
def demo(demo_run):
    return demo_run


@pytest.mark.slow
def test_report_has_every_section_and_only_embedded_images(demo):
    page = (demo / "report.html").read_text(encoding="utf-8")
    titles = re.findall(r"<h2>(.*?)</h2>", page)
    assert titles == [t.replace("&#x27;", "'") for t in SECTIONS]
    images = re.findall(r'<img src="([^"]*)"', page)
    assert len(images) >= 8 and all(src.startswith("data:image/png;base64,") for src in images)
    assert "<link" not in page and "<script src" not in page  # nothing loaded from elsewhere


@pytest.mark.slow
def test_the_loop_leaves_packages_a_plan_a_simulation_and_a_queue(demo):
    for name in ("lstm", "tft"):
        manifest = read_package(demo / "models" / name / "1", task="forecast")
        assert max(manifest["parity"]["max_relative_error"].values()) <= 1e-4
    # The station page of `serve --repo <demo>/models` scores with the demo's inspection model.
    assert read_package(demo / "models" / "inspect" / "1", task="inspection")["thresholds"]
    plan = pd.read_parquet(demo / "plan" / "plan.parquet")
    assert {"safety_stock", "reorder_point", "order_qty", "inspection_held"} <= set(plan.columns)
    simulation = pd.read_csv(demo / "plan" / "simulation.csv").set_index("metric")
    # The rule holds the same stock as the plan: the comparison is about where it sits.
    plan_stock, rule_stock = simulation.loc["avg_on_hand", ["plan", "weeks_of_supply"]]
    assert abs(plan_stock - rule_stock) <= 0.05 * plan_stock
    with sqlite3.connect(demo / "review.db") as db:
        waiting = db.execute("SELECT COUNT(*) FROM items WHERE state = 'pending'").fetchone()[0]
    scores = pd.read_parquet(demo / "inspection" / "scores.parquet")
    assert waiting == (scores["verdict"] == "review").sum()
    decision = (demo / "monitor" / "champion_challenger.json").read_text()
    assert '"kept"' in decision
    assert not [p for p in demo.parent.iterdir() if p.name.startswith(".")]  # no staging left

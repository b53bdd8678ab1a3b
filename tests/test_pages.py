"""The review queue and the forecast page behind the service's pages, over HTTP.

(The pages themselves are driven in a browser by ``test_browser.py``.)
"""

from __future__ import annotations

import shutil
import sqlite3

import httpx
import numpy as np
import pandas as pd
import pytest
from PIL import Image

from serving.review import ReviewError, ReviewStore
from tests.test_service import running


def png(path, colour=(200, 30, 30)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (16, 16), colour).save(path)
    return str(path)


def queued_items(workspace):
    items = pd.DataFrame(
        {"item_id": ["A1", "B2", "C3"], "sku": ["SKU1", "SKU1", "SKU2"],
         "location_id": ["FC1", "FC1", "FC2"], "product_id": ["P1", "P1", "P2"],
         "reasons": ["damage 0.61 > review 0.40"] * 3, "score_damage": [0.61, 0.55, np.nan]}
    )  # fmt: skip
    views = {
        item: {"front": {"image": png(workspace / "items" / item / "front.png"),
                         "heatmap": png(workspace / "heat" / item / "front.png", (0, 0, 200))}}
        for item in items["item_id"]
    }  # fmt: skip
    views["C3"]["front"]["image"] = "/etc/passwd"  # outside the workspace: never served
    return items, views


def test_the_store_queues_decides_and_adjusts_stock(tmp_path):
    store = ReviewStore(f"sqlite:///{tmp_path / 'review.db'}")
    items, views = queued_items(tmp_path)
    assert store.enqueue(items, views) == 3 and store.enqueue(items, views) == 0
    assert [i["item_id"] for i in store.queue()] == ["A1", "B2", "C3"]
    record = store.decide("A1", "reject", "ana", defect="damage")
    assert record["reviewer"] == "ana" and record["decided"]
    store.decide("B2", "pass", "bo")
    with pytest.raises(ReviewError, match="already decided"):
        store.decide("A1", "pass", "ana")
    with pytest.raises(ReviewError, match="defect"):
        store.decide("C3", "reject", "ana", defect="scratched")
    with pytest.raises(ReviewError, match="not in the review queue"):
        store.decide("ZZ", "pass", "ana")
    adjustments = store.stock_adjustments().set_index(["item_id", "location_id"])
    assert adjustments.loc[("SKU1", "FC1")].tolist() == [0, 1]  # one waits no more, one rejected
    assert adjustments.loc[("SKU2", "FC2")].tolist() == [1, 0]
    assert store.decisions()["decision"].tolist() == ["reject", "pass"]


@pytest.fixture()
def workspace(lstm_package, tmp_path):
    _, _, root = lstm_package
    shutil.copytree(root / "repo", tmp_path / "models")
    items, views = queued_items(tmp_path)
    ReviewStore(tmp_path / "review.db").enqueue(items, views)
    dates = pd.date_range("2024-03-01", periods=14)
    keys = {"item_id": "SKU1", "location_id": "FC1"}
    (tmp_path / "plan").mkdir()
    (tmp_path / "data").mkdir()
    pd.DataFrame([{**keys, "demand_mean": 5.0, "review": "continuous", "reorder_point": 20.0,
                   "safety_stock": 6.0, "order_qty": 40.0}]).to_parquet(
        tmp_path / "plan" / "plan.parquet")  # fmt: skip
    forecast = pd.DataFrame({**keys, "date": dates[7:], "step": range(1, 8)})
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        forecast[f"q{q:g}"] = 5.0 * (0.5 + q)
    forecast.to_parquet(tmp_path / "plan" / "forecast.parquet")
    panel = pd.DataFrame({**keys, "date": dates, "demand": np.arange(14.0)})
    panel.to_parquet(tmp_path / "data" / "panel.parquet")
    rules = ["plan"] * 7 + ["weeks_of_supply"] * 7
    daily = pd.DataFrame({**keys, "date": list(dates[7:]) * 2, "on_hand": np.arange(14.0),
                          "unmet": [0.0] * 13 + [2.0], "rule": rules})  # fmt: skip
    daily.to_parquet(tmp_path / "plan" / "simulation_daily.parquet")
    return tmp_path


def test_review_endpoints_and_the_forecast_chart(workspace):
    with running(workspace / "models", workspace=str(workspace)) as url:
        assert "Review queue" in httpx.get(f"{url}/review").text
        queue = httpx.get(f"{url}/v1/review/queue").json()
        assert [i["item_id"] for i in queue] == ["A1", "B2", "C3"]
        image = httpx.get(f"{url}/v1/review/items/A1/views/front/heatmap")
        assert image.status_code == 200 and image.content[:4] == b"\x89PNG"
        assert httpx.get(f"{url}/v1/review/items/C3/views/front/image").status_code == 404
        assert httpx.get(f"{url}/v1/review/items/ZZ/views/front/image").status_code == 404
        decide = f"{url}/v1/review/items/A1/decision"
        bad = httpx.post(decide, json={"decision": "reject", "defect": "scratch", "reviewer": "a"})
        assert bad.status_code == 422 and "defect" in bad.text
        assert httpx.post(decide, json={"decision": "pass"}).status_code == 422  # no reviewer
        ok = httpx.post(decide, json={"decision": "reject", "defect": "damage", "reviewer": "ana"})
        assert ok.status_code == 200 and ok.json()["reviewer"] == "ana"
        assert httpx.post(decide, json={"decision": "pass", "reviewer": "bo"}).status_code == 422
        assert [i["item_id"] for i in httpx.get(f"{url}/v1/review/queue").json()] == ["B2", "C3"]
        series = httpx.get(f"{url}/v1/workspace/series").json()
        assert series == [{"item_id": "SKU1", "location_id": "FC1"}]
        detail = httpx.get(f"{url}/v1/workspace/series/SKU1/FC1").json()
        assert detail["plan"]["reorder_point"] == 20.0
        chart = httpx.get(f"{url}/v1/workspace/series/SKU1/FC1/chart.png", timeout=60)
        assert chart.status_code == 200 and chart.content[:4] == b"\x89PNG"
        assert httpx.get(f"{url}/v1/workspace/series/NOPE/FC1").status_code == 404
    with sqlite3.connect(workspace / "review.db") as db:
        rows = db.execute("SELECT item_id, decision, defect, reviewer FROM decisions").fetchall()
    assert rows == [("A1", "reject", "damage", "ana")]


def test_without_a_workspace_the_pages_say_so(lstm_package):
    _, _, root = lstm_package
    with running(root / "repo") as url:
        assert httpx.get(f"{url}/station").status_code == 200
        assert httpx.get(f"{url}/v1/review/queue").status_code == 404
        assert "workspace" in httpx.get(f"{url}/v1/workspace/series").json()["detail"]

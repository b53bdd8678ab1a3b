"""The review queue and the forecast page behind the service's pages, over HTTP.

(The pages themselves are driven in a browser by ``test_browser.py``.)
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
from urllib.parse import quote

import httpx
import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from serving.review import ReviewError, ReviewStore
from serving.service.pages import pages_router
from tests.conftest import queued_items
from tests.test_service import running


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


def test_decided_items_become_training_labels(tmp_path):
    from serving.review import with_feedback
    from vision.items import ItemSet
    from vision.schema import CLASS_NAMES, VIEW_NAMES

    store = ReviewStore(tmp_path / "review.db")
    items, views = queued_items(tmp_path)
    views["C3"]["front"]["image"] = str(tmp_path / "gone.png")
    store.enqueue(items, views)
    store.decide("A1", "reject", "ana", defect="packaging")
    store.decide("B2", "pass", "bo")
    store.decide("C3", "pass", "bo")  # its image path is not a file here: left out
    base = ItemSet(tmp_path, "tunnel", [], tuple(CLASS_NAMES), tuple(VIEW_NAMES))
    merged, added = with_feedback(base, store)
    assert added == 2 and [i.item_id for i in merged.items] == ["review-A1", "review-B2"]
    assert merged.items[0].labels.tolist() == [0.0, 0.0, 0.0, 1.0]  # packaging
    assert merged.items[1].labels.sum() == 0 and set(merged.items[0].views) == {"front"}


def test_the_next_plan_reads_the_review_decisions(tmp_path, capsys):
    from serving.cli import main

    store = ReviewStore(tmp_path / "review.db")
    items, views = queued_items(tmp_path)
    store.enqueue(items, views)
    store.decide("A1", "reject", "ana", defect="damage")
    store.decide("B2", "pass", "bo")  # back onto sellable stock; C3 still waits
    keys = pd.DataFrame({"item_id": ["SKU1", "SKU2"], "location_id": ["FC1", "FC2"]})
    keys.assign(demand_mean=5.0, demand_std=2.0).to_csv(tmp_path / "f.csv", index=False)
    keys.assign(on_hand=10.0, lead_time_mean=3.0).to_csv(tmp_path / "inv.csv", index=False)
    out = tmp_path / "plan.csv"
    args = ["plan", "--forecast", str(tmp_path / "f.csv"), "--inventory", str(tmp_path / "inv.csv")]
    assert main([*args, "--review-db", str(tmp_path / "review.db"), "--out", str(out)]) == 0
    held = pd.read_csv(out).set_index("item_id")["inspection_held"]
    assert held.to_dict() == {"SKU1": 1.0, "SKU2": 1.0}  # A1 rejected; C3 waiting
    capsys.readouterr()
    assert main([*args, "--review-db", str(tmp_path / "nope.db"), "--out", str(out)]) == 2
    assert "--review-db" in capsys.readouterr().err


SERIES = [("a|b", "x", 11.0), ("a", "b", 22.0), ("sku/1", "fc/2", 33.0)]

HARNESS = r"""
const fs = require('fs');
const script = fs.readFileSync(process.argv[2], 'utf8');
const series = JSON.parse(process.argv[3]);
let fetched = [];
function element(id) {
  return {id, options: [], value: '', textContent: '', innerHTML: '', alt: '', src: '',
          appendChild(child) {
            this.options.push(child);
            if (this.options.length === 1) this.value = child.value;
          }};
}
const elements = {series: element('series'), plan: element('plan'), chart: element('chart')};
global.document = {getElementById: id => elements[id],
                   createElement: () => ({value: '', textContent: ''})};
global.localStorage = {getItem: () => null, setItem() {}, removeItem() {}};
global.prompt = () => null;
global.URL.createObjectURL = () => 'blob:x';
global.fetch = async (url) => {
  fetched.push(url);
  const body = url === '/v1/workspace/series' ? series : {plan: {}};
  return {ok: true, status: 200, json: async () => body, blob: async () => null};
};
(async () => {
  new Function(script)();
  await new Promise(r => setTimeout(r, 50));
  const select = elements.series;
  const out = {};
  for (const option of select.options) {
    fetched = [];
    select.value = option.value;
    await select.onchange();
    out[option.textContent] = fetched;
  }
  console.log(JSON.stringify(out));
})();
"""


@pytest.fixture()
def client(tmp_path):
    (tmp_path / "plan").mkdir()
    (tmp_path / "data").mkdir()
    plan = pd.DataFrame(
        [{"item_id": i, "location_id": loc, "demand_mean": 10.0 - k, "order_qty": qty}
         for k, (i, loc, qty) in enumerate(SERIES)]
    )  # fmt: skip
    plan.to_parquet(tmp_path / "plan" / "plan.parquet")
    dates = pd.date_range("2025-01-01", periods=6)
    rows = [{"item_id": i, "location_id": loc, "date": d} for i, loc, _ in SERIES for d in dates]
    frame = pd.DataFrame(rows)
    frame.assign(demand=2.0).to_parquet(tmp_path / "data" / "panel.parquet")
    forecast = frame[frame["date"] >= dates[3]]
    forecast.assign(**{"q0.05": 1.0, "q0.5": 2.0, "q0.95": 3.0}).to_parquet(
        tmp_path / "plan" / "forecast.parquet"
    )
    forecast.assign(rule="plan", on_hand=3.0, unmet=0.0).to_parquet(
        tmp_path / "plan" / "simulation_daily.parquet"
    )
    app = FastAPI()
    app.include_router(pages_router(None, str(tmp_path)))
    return TestClient(app)


def test_the_page_shows_the_plan_of_the_series_picked(client, tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    page = client.get("/forecast").text
    script = re.search(r"<script>(.*)</script>", page, re.DOTALL).group(1)
    (tmp_path / "page.js").write_text(script)
    (tmp_path / "harness.js").write_text(HARNESS)
    listed = client.get("/v1/workspace/series").json()
    run = subprocess.run(
        [node, str(tmp_path / "harness.js"), str(tmp_path / "page.js"), json.dumps(listed)],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    fetched = json.loads(run.stdout)
    for item, location, qty in SERIES:
        urls = fetched[f"{item} @ {location}"]
        plan, chart = urls[0], urls[-1]
        answer = client.get(plan)
        assert answer.status_code == 200, (item, location, plan, answer.text)
        assert answer.json()["plan"]["order_qty"] == qty, (item, location, plan)
        picture = client.get(chart)
        assert picture.status_code == 200, (item, location, chart, picture.text)
        assert picture.content[:4] == b"\x89PNG"


def test_an_id_with_a_line_break_is_opened_and_decided(tmp_path):
    ids = ["tray 4\nslot 2", "a/b\n", "plain"]
    items = pd.DataFrame(
        {"item_id": ids, "sku": "S1", "location_id": "FC1", "product_id": "P1",
         "reasons": "damage", "score_damage": 0.5}
    )  # fmt: skip
    views = {}
    for k, item in enumerate(ids):
        path = tmp_path / "items" / str(k) / "front.png"
        path.parent.mkdir(parents=True)
        Image.new("RGB", (8, 8), (200, 30, 30)).save(path)
        views[item] = {"front": {"image": str(path), "heatmap": ""}}
    store = ReviewStore(tmp_path / "review.db")
    store.enqueue(items, views)
    app = FastAPI()
    app.include_router(pages_router(str(tmp_path / "review.db"), None))
    client = TestClient(app)
    for item in ids:
        url = "/v1/review/items/" + quote(item, safe="")  # as encodeURIComponent sends it
        image = client.get(url + "/views/front/image")
        assert image.status_code == 200 and image.content[:4] == b"\x89PNG", (item, image.text)
        answer = client.post(url + "/decision", json={"decision": "pass", "reviewer": "ana"})
        assert answer.status_code == 200, (item, answer.text)
        assert answer.json()["item_id"] == item
    assert client.get("/v1/review/queue").json() == []
    assert store.stock_adjustments()["review_units"].tolist() == [0]
    assert client.get("/openapi.json").status_code == 200

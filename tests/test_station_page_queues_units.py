"""The station page had no SKU or location fields, so no unit it inspected reached the review
queue: the service queues a review (and records a reject) only when the request names item,
SKU and location. It sends them now, refuses to queue every unit as the default id
"station-item", and says where the unit went (run under Node with a fake DOM and fetch)."""

from __future__ import annotations

import json

from fastapi import FastAPI
from fastapi.testclient import TestClient
from nodepages import STATION_DOM, run_page

from serving.service.pages import pages_router

HARNESS = (
    STATION_DOM
    + r"""
const answer = JSON.parse(process.argv[3]);
for (const [id, value] of Object.entries(JSON.parse(process.argv[4]))) elements[id].value = value;
let sent = null;
global.fetch = async (url, options) => {
  sent = Object.fromEntries([...options.body.entries()].filter(([k]) => k !== 'front'));
  return {ok: true, status: 200, json: async () => answer};
};
(async () => {
  new Function(script)();
  elements.views.files = [{name: 'front.png'}];
  await elements.form.handlers.submit({preventDefault() {}});
  console.log(JSON.stringify({result: elements.result.innerHTML, sent}));
})();
"""
)

ANSWER = {
    "model": "inspection", "version": "1", "provider": "CPUExecutionProvider", "item_id": "u7",
    "verdict": "review", "status": "ok", "reasons": ["damage"], "any_defect": 0.6,
    "scores": {"damage": 0.6}, "errors": [], "views": [], "queued": True, "recorded": False,
}  # fmt: skip


def run(tmp_path, answer, **fields):
    app = FastAPI()
    app.include_router(pages_router(None, None))
    html = TestClient(app).get("/station").text
    assert 'id="sku"' in html and 'id="location"' in html
    return run_page(tmp_path, HARNESS, html, json.dumps(answer), json.dumps(fields))


def test_a_named_unit_is_sent_with_its_sku_and_location(tmp_path):
    out = run(tmp_path, ANSWER, item="u7", sku="SKU-1", location="FC2", product="P1")
    assert out["sent"] == {"product_id": "P1", "item_id": "u7", "sku": "SKU-1",
                           "location_id": "FC2", "heatmaps": "true"}  # fmt: skip
    assert "queued for review" in out["result"]


def test_a_recorded_reject_says_so(tmp_path):
    answer = {**ANSWER, "verdict": "reject", "queued": False, "recorded": True}
    out = run(tmp_path, answer, item="u8", sku="SKU-1", location="FC2")
    assert "recorded as a rejected unit" in out["result"]


def test_the_default_id_is_not_queued(tmp_path):
    """Every unit would be the one "station-item", which the queue keeps once."""
    out = run(tmp_path, ANSWER, item="station-item", sku="SKU-1", location="FC2")
    assert out["sent"] is None
    assert "own item id" in out["result"]


def test_an_unnamed_review_says_it_is_in_no_queue(tmp_path):
    out = run(tmp_path, {**ANSWER, "queued": False}, item="station-item")
    assert set(out["sent"]) == {"item_id", "heatmaps"}
    assert "not in a review queue" in out["result"]
    passed = run(tmp_path, {**ANSWER, "verdict": "pass", "queued": False}, item="station-item")
    assert "queue" not in passed["result"]

"""The station shows why an inspection is incomplete: an item sent with every view but no
product id (or one the catalog lacks) is a review, "incomplete inspection", with every view ok;
the answer's ``errors`` say why (colour and size unchecked) and the page did not show them
(run under Node with a fake DOM and fetch, fed the service's answer for such an item)."""

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
global.fetch = async () => ({ok: true, status: 200, json: async () => answer});
(async () => {
  new Function(script)();
  elements.views.files = [{name: 'front.png'}];
  await elements.form.handlers.submit({preventDefault() {}});
  console.log(JSON.stringify({result: elements.result.innerHTML}));
})();
"""
)

VIEW = {"status": "ok", "error": None, "scores": {"damage": 0.1}, "heatmap_png": None}
# /v1/inspect's answer for an item with every view and an unknown product id (a tiny model's)
ANSWER = {
    "model": "inspection", "version": "1", "provider": "CPUExecutionProvider", "item_id": "u1",
    "verdict": "review", "status": "partial", "reasons": ["incomplete inspection"],
    "any_defect": 0.2, "scores": {"damage": 0.1, "wrong_color": 0.05},
    "errors": ["product 'NOPE' not in the catalog, so colour and size cannot be checked"],
    "views": [{"view": v, **VIEW} for v in ("front", "top")], "queued": False, "recorded": False,
}  # fmt: skip


def shown(tmp_path, answer):
    app = FastAPI()
    app.include_router(pages_router(None, None))
    html = TestClient(app).get("/station").text
    return run_page(tmp_path, HARNESS, html, json.dumps(answer))["result"]


def test_the_station_shows_why_an_inspection_is_incomplete(tmp_path):
    page = shown(tmp_path, ANSWER)
    assert 'class="review">review<' in page, page
    assert "product &#39;NOPE&#39; not in the catalog" in page, page


def test_a_complete_inspection_shows_no_error_list(tmp_path):
    page = shown(tmp_path, {**ANSWER, "verdict": "pass", "reasons": [], "errors": []})
    assert 'id="errors"' not in page, page
    assert "no defect found" in page, page

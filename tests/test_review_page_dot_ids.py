"""The review page put an item's id in the path of the requests it makes
(/v1/review/items/<id>/decision, .../views/<view>/image). A browser resolves the path segments
"." and ".." (also written %2E) before it sends a request, so an item named ".." was decided
as POST /v1/review/decision and "." as /v1/review/items/decision: 404s, and the unit never left
the queue (held out of sellable stock); its photos were never shown. The page sends ids as
query parameters (run under Node, whose URL parser is the browsers', with a fake DOM)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image

from serving.review import ReviewStore
from serving.service.pages import pages_router

HARNESS = r"""
const fs = require('fs');
const script = fs.readFileSync(process.argv[2], 'utf8');
const queue = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const unescape = s => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
  .replace(/&gt;/g, '>').replace(/&amp;/g, '&');
function element(id) {
  return {id, value: '', textContent: '', innerHTML: '', className: '', dataset: {},
          remove() {}, appendChild() {}};
}
const cards = [];
const elements = {queue: element('queue'), reviewer: element('reviewer'),
                  status: element('status')};
elements.reviewer.value = 'ann';
global.document = {
  getElementById: id => elements[id] || cards.find(c => c.id === id) || null,
  querySelector: () => null,
  createElement: () => {
    const card = element(''), buttons = {};
    card.querySelector = sel => (sel === '.defect' ? {value: 'damage'}
                                 : (buttons[sel] = buttons[sel] || {}));
    card.querySelectorAll = () => [...card.innerHTML.matchAll(/data-src="([^"]*)"/g)]
      .map(m => ({dataset: {src: unescape(m[1])}, alt: '', src: ''}));
    card.buttons = buttons;
    cards.push(card);
    return card;
  },
};
global.localStorage = {getItem: () => null};
global.URL.createObjectURL = () => 'blob:x';
global.URL.revokeObjectURL = () => {};
const sent = [];
global.fetch = async (url, options = {}) => {
  const resolved = new URL(url, 'http://host/');  // what a browser requests
  sent.push({path: resolved.pathname + resolved.search, method: options.method || 'GET',
             body: options.body || null});
  if (resolved.pathname === '/v1/review/queue') {  // the queue, then (all decided) none
    const items = sent.length === 1 ? queue : [];
    return {ok: true, status: 200, json: async () => items};
  }
  return {ok: true, status: 200, json: async () => ({}), blob: async () => 'png'};
};
(async () => {
  new Function(script)();
  await new Promise(r => setTimeout(r, 100));
  for (const card of cards.slice()) card.buttons['.reject'].onclick();
  await new Promise(r => setTimeout(r, 100));
  console.log(JSON.stringify(sent));
})();
"""

IDS = ["..", ".", "a/..", "%2e%2e", "ok"]


def _page_requests(node, tmp_path, client, page: str, queue: str) -> list[dict]:
    """What the page's script requests (run under Node), given the list at ``queue``; every
    card is rejected as damage."""
    html = client.get(page).text
    (tmp_path / "page.js").write_text(re.search(r"<script>(.*)</script>", html, re.DOTALL).group(1))
    (tmp_path / "harness.js").write_text(HARNESS)
    (tmp_path / "queue.json").write_text(json.dumps(client.get(queue).json()))
    args = [node, str(tmp_path / "harness.js"), str(tmp_path / "page.js"),
            str(tmp_path / "queue.json")]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_items_named_dot_and_dot_dot_are_shown_and_decided_from_the_page(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    views = {}
    for k, item in enumerate(IDS):
        path = tmp_path / "photos" / f"item{k}.png"
        path.parent.mkdir(exist_ok=True)
        Image.new("RGB", (8, 8), (k * 40, 0, 0)).save(path)
        views[item] = {"front": {"image": str(path), "heatmap": ""}}
    items = pd.DataFrame(
        {"item_id": IDS, "sku": "SKU1", "location_id": "FC1", "product_id": None,
         "reasons": "damage", "score_damage": 0.6}
    )  # fmt: skip
    store = ReviewStore(tmp_path / "review.db")
    store.enqueue(items, views)
    app = FastAPI()
    app.include_router(pages_router(str(tmp_path / "review.db"), None, store))
    client = TestClient(app)
    sent = _page_requests(node, tmp_path, client, "/review", "/v1/review/queue")

    images = [s for s in sent if s["method"] == "GET" and s["path"] != "/v1/review/queue"]
    decisions = [s for s in sent if s["method"] == "POST"]
    assert len(images) == len(IDS) and len(decisions) == len(IDS), sent
    # The browser's requests, as the service answers them: every photo and every decision.
    for request in images:
        answer = client.get(request["path"])
        assert answer.status_code == 200, (request, answer.text)
        assert answer.headers["content-type"] == "image/png"
    for request in decisions:
        answer = client.post(
            request["path"], content=request["body"], headers={"content-type": "application/json"}
        )
        assert answer.status_code == 200, (request, answer.text)
    decided = store.decisions()
    assert sorted(decided["item_id"]) == sorted(IDS)
    assert set(decided["decision"]) == {"reject"} and set(decided["defect"]) == {"damage"}
    assert store.queue() == []


def test_the_station_rejects_page_lists_them_and_decides_them(tmp_path):
    """/review/rejected runs the review script on the units stations rejected outright."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    store = ReviewStore(tmp_path / "review.db")
    store.enqueue_photos({"item_id": "waits", "sku": "S", "location_id": "F"}, {})
    for item in ("r1", "r2"):
        unit = {"item_id": item, "sku": "S", "location_id": "F", "scores": {"damage": 0.9}}
        store.enqueue_photos(unit, {}, state="rejected")
    app = FastAPI()
    app.include_router(pages_router(str(tmp_path / "review.db"), None, store))
    client = TestClient(app)
    sent = _page_requests(
        node, tmp_path, client, "/review/rejected", "/v1/review/queue?state=rejected"
    )
    assert sent[0]["path"] == "/v1/review/queue?state=rejected", sent
    for request in (s for s in sent if s["method"] == "POST"):
        answer = client.post(
            request["path"], content=request["body"], headers={"content-type": "application/json"}
        )
        assert answer.status_code == 200, (request, answer.text)
    assert sorted(store.decisions()["item_id"]) == ["r1", "r2"]
    assert store.queue(state="rejected") == [] and [q["item_id"] for q in store.queue()] == [
        "waits"
    ]

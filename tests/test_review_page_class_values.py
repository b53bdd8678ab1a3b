"""The review page listed an item's classes as ``<option>name</option>``: without a value
attribute a browser's ``select.value`` is the option's text with its whitespace stripped and
collapsed (HTML: the ``value`` IDL attribute falls back to ``text``), so a class-folder model's
class "dent " or "scratch  deep" was sent as "dent" / "scratch deep" and every reject of it was
a 422 (the unit stayed held). The options carry the class, escaped, as their value (run under
Node with a fake DOM; the HTML read back with Python's parser, the select's value as the HTML
standard defines it)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pandas as pd
from fastapi import FastAPI
from fastapi.testclient import TestClient
from nodepages import run_page

from serving.review import ReviewStore
from serving.service.pages import pages_router

CLASSES = ["dent ", "scratch  deep", "\tpit", 'a "quoted" & <b>']
HARNESS = r"""
const fs = require('fs');
const script = fs.readFileSync(process.argv[2], 'utf8');
const queue = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'));
const cards = [];
function element(id) {
  return {id, value: '', textContent: '', innerHTML: '', className: '', dataset: {},
          remove() {}, appendChild() {}, querySelector: () => ({}), querySelectorAll: () => []};
}
const elements = {queue: element('queue'), reviewer: element('reviewer'),
                  status: element('status')};
global.document = {getElementById: id => elements[id] || null, querySelector: () => null,
                   createElement: () => {
                     const card = element(''); cards.push(card); return card;
                   }};
global.localStorage = {getItem: () => null};
global.fetch = async () => ({ok: true, status: 200, json: async () => queue});
(async () => {
  new Function(script)();
  await new Promise(r => setTimeout(r, 100));
  console.log(JSON.stringify(cards.map(c => c.innerHTML)));
})();
"""


def _cards(tmp_path, client) -> list[str]:
    """The queue's cards as the review page renders them (its script under Node)."""
    (tmp_path / "queue.json").write_text(json.dumps(client.get("/v1/review/queue").json()))
    return run_page(tmp_path, HARNESS, client.get("/review").text, str(tmp_path / "queue.json"))


class _Options(HTMLParser):
    """Each option's value as a browser's ``select.value`` reads it."""

    def __init__(self):
        super().__init__()
        self.values: list[str] = []
        self._text: list[str] | None = None
        self._value: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "option":
            self._text, self._value = [], dict(attrs).get("value")

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "option" and self._text is not None:
            # no value attribute: the text, ASCII whitespace stripped and collapsed
            text = re.sub(r"[ \t\n\f\r]+", " ", "".join(self._text)).strip(" \t\n\f\r")
            self.values.append(self._value if self._value is not None else text)
            self._text = None


def test_a_class_name_with_spaces_is_rejected_from_the_page(tmp_path):
    items = pd.DataFrame(
        {"item_id": [f"u{k}" for k in range(len(CLASSES))], "sku": "S1", "location_id": "FC1",
         "reasons": "dent", **{f"score_{c}": 0.4 for c in CLASSES}}
    )  # fmt: skip
    store = ReviewStore(tmp_path / "review.db")
    store.enqueue(items, {})
    assert store.queue()[0]["classes"] == CLASSES
    app = FastAPI()
    app.include_router(pages_router(str(tmp_path / "review.db"), None, store))
    client = TestClient(app)
    cards = _cards(tmp_path, client)
    assert len(cards) == len(CLASSES)
    # card k rejected as its k-th option: what the page sends is the class, as queued
    for k, card in enumerate(cards):
        options = _Options()
        options.feed(card)
        assert options.values == CLASSES
        answer = client.post(
            "/v1/review/decision",
            params={"item_id": f"u{k}"},
            json={"decision": "reject", "defect": options.values[k], "reviewer": "ann"},
        )
        assert answer.status_code == 200, (CLASSES[k], answer.text)
    assert sorted(store.decisions()["defect"]) == sorted(CLASSES)


class _Selected(HTMLParser):
    """The value of the option a select shows first: the one marked ``selected``, else the
    first (the HTML standard's selectedness for a single select)."""

    def __init__(self):
        super().__init__()
        self.values: list[str] = []
        self.selected: str | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "option":
            attrs = dict(attrs)
            self.values.append(attrs["value"])
            if "selected" in attrs and self.selected is None:
                self.selected = attrs["value"]

    @property
    def shown(self) -> str:
        return self.selected if self.selected is not None else self.values[0]


def test_the_reject_menu_starts_on_the_class_the_model_scored_highest(tmp_path):
    """The menu started on the first class whatever the scores: a reviewer confirming a
    packaging reject without opening the menu labelled it damage, and `inspect train --feedback`
    learnt that label."""
    classes = ["damage", "wrong_color", "wrong_size", "packaging"]
    scores = [[0.2, 0.1, 0.05, 0.9], [0.7, 0.1, 0.3, 0.2], [0.1, 0.1, 0.1, 0.1]]
    items = pd.DataFrame(
        {"item_id": [f"u{k}" for k in range(3)], "sku": "S1", "location_id": "FC1",
         "reasons": "", **{f"score_{c}": [s[i] for s in scores] for i, c in enumerate(classes)}}
    )  # fmt: skip
    store = ReviewStore(tmp_path / "review.db")
    store.enqueue(items, {})
    app = FastAPI()
    app.include_router(pages_router(str(tmp_path / "review.db"), None, store))
    client = TestClient(app)
    shown = []
    for card in _cards(tmp_path, client):
        menu = _Selected()
        menu.feed(card)
        assert menu.values == classes
        shown.append(menu.shown)
    # the highest score's class; all tied: the first
    assert shown == ["packaging", "damage", "damage"]

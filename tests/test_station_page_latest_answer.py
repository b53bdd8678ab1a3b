"""The station never shows one item's verdict for another: an operator who sends an item and,
before its answer, the next one saw the first item's verdict last when its answer came later
(an item of six views answers after one of a single view), with nothing on the page naming
the item (run under Node with a fake DOM and fetch)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from nodepages import STATION_DOM, run_page

from serving.service.pages import pages_router

HARNESS = (
    STATION_DOM
    + r"""
const sleep = ms => new Promise(r => setTimeout(r, ms));
function answer(item, verdict) {
  return {item_id: item, verdict, status: 'ok', reasons: [], any_defect: 0.5,
          scores: {damage: verdict === 'reject' ? 0.9 : 0.1}, errors: [], views: []};
}
global.fetch = async (url, options) => {
  const item = options.body.get('item_id');
  if (item === 'A') await sleep(150);  // six views to decode: A answers after B
  return {ok: true, status: 200, json: async () => answer(item, item === 'A' ? 'pass' : 'reject')};
};
(async () => {
  new Function(script)();
  const submit = elements.form.handlers.submit;
  const sent = [];
  for (const item of ['A', 'B']) {  // the operator sends A, then B before A's answer
    elements.item.value = item;
    elements.views.files = [{name: 'front.png'}];
    sent.push(submit({preventDefault() {}}));
    await sleep(10);
  }
  await Promise.allSettled(sent);
  await sleep(300);
  console.log(JSON.stringify({result: elements.result.innerHTML}));
})();
"""
)


@pytest.fixture()
def station(tmp_path):
    app = FastAPI()
    app.include_router(pages_router(None, None))
    html = TestClient(app).get("/station").text
    return run_page(tmp_path, HARNESS, html)["result"]


def test_an_earlier_items_late_verdict_does_not_replace_the_later_items(station):
    assert 'class="reject">reject<' in station, station  # B's verdict
    assert ">pass<" not in station, station  # A's, answered last

"""The forecast page never shows one series' plan or chart under another series' name: a
failed answer clears what the page showed before, and answers to an earlier pick that arrive
after a later one are dropped (run under Node with a fake DOM and fetch)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pandas as pd
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from serving.service.pages import pages_router

HARNESS = r"""
const fs = require('fs');
const script = fs.readFileSync(process.argv[2], 'utf8');
const scenario = process.argv[3];
const answers = JSON.parse(fs.readFileSync(process.argv[4], 'utf8'));
function element(id) {
  let html = '';  // textContent and innerHTML are one content, as in a DOM
  return {id, options: [], value: '', alt: 'chart', src: '', dataset: {},
          get innerHTML() { return html; }, set innerHTML(v) { html = String(v); },
          get textContent() { return html; }, set textContent(v) { html = String(v); },
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
global.URL.createObjectURL = blob => 'blob:' + blob;
global.URL.revokeObjectURL = () => {};
const sleep = ms => new Promise(r => setTimeout(r, ms));
global.fetch = async (url) => {
  if (url === '/v1/workspace/series')
    return {ok: true, status: 200, json: async () => answers.series};
  const item = new URL('http://host' + url).searchParams.get('item_id');
  const chart = url.startsWith('/v1/workspace/chart.png');
  if (scenario === 'race' && item === 'A') await sleep(100);  // A's answers come late
  const failed = (scenario === 'chart-fails' && chart && item === 'B')
    || (scenario === 'plan-fails' && item === 'B');
  if (failed) return {ok: false, status: chart ? 504 : 404,
                      json: async () => ({detail: 'no answer'}), blob: async () => null};
  return {ok: true, status: 200, json: async () => answers.plans[item],
          blob: async () => 'chart-of-' + item};
};
(async () => {
  new Function(script)();
  await sleep(200);  // the first series (A) is shown
  const select = elements.series;
  const picks = scenario === 'race' ? ['1', '0', '1'] : ['1'];  // quickly A -> B -> A -> B
  const shown = [];
  for (const value of picks) { select.value = value; shown.push(select.onchange()); }
  await Promise.allSettled(shown);
  await sleep(300);
  console.log(JSON.stringify({selected: select.options[Number(select.value)].textContent,
                              plan: elements.plan.innerHTML, chart: elements.chart.src}));
})();
"""


@pytest.fixture()
def page(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    (tmp_path / "plan").mkdir()
    (tmp_path / "data").mkdir()
    keys = pd.DataFrame({"item_id": ["A", "B"], "location_id": "X"})
    keys.assign(demand_mean=[9.0, 1.0], order_qty=[40.0, 99.0]).to_parquet(
        tmp_path / "plan" / "plan.parquet"
    )
    dates = pd.date_range("2025-01-01", periods=4)
    rows = keys.merge(pd.DataFrame({"date": dates}), how="cross")
    rows.assign(demand=2.0).to_parquet(tmp_path / "data" / "panel.parquet")
    rows.assign(**{"q0.5": 2.0}).to_parquet(tmp_path / "plan" / "forecast.parquet")
    rows.assign(rule="plan", on_hand=3.0, unmet=0.0).to_parquet(
        tmp_path / "plan" / "simulation_daily.parquet"
    )
    app = FastAPI()
    app.include_router(pages_router(None, str(tmp_path)))
    client = TestClient(app)
    html = client.get("/forecast").text
    (tmp_path / "page.js").write_text(re.search(r"<script>(.*)</script>", html, re.DOTALL).group(1))
    (tmp_path / "harness.js").write_text(HARNESS)
    series = client.get("/v1/workspace/series").json()
    plans = {s["item_id"]: client.get("/v1/workspace/plan", params=s).json() for s in series}
    (tmp_path / "answers.json").write_text(json.dumps({"series": series, "plans": plans}))

    def run(scenario: str) -> dict:
        args = [node, str(tmp_path / "harness.js"), str(tmp_path / "page.js"), scenario,
                str(tmp_path / "answers.json")]  # fmt: skip
        done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run


@pytest.mark.parametrize("scenario", ["race", "chart-fails", "plan-fails"])
def test_the_page_shows_only_the_series_picked(page, scenario):
    shown = page(scenario)
    assert shown["selected"] == "B @ X"
    assert "<td>40</td>" not in shown["plan"], shown  # A's order quantity
    assert shown["chart"] != "blob:chart-of-A", shown
    if scenario == "race":
        assert "<td>99</td>" in shown["plan"] and shown["chart"] == "blob:chart-of-B", shown
    if scenario == "chart-fails":
        assert "<td>99</td>" in shown["plan"] and shown["chart"] == "", shown
    if scenario == "plan-fails":
        assert "404" in shown["plan"] and shown["chart"] == "", shown

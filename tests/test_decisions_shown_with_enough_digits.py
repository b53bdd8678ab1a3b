"""Decisions shown beside the figures they were made from.

* The station page showed every class score with three decimals: a calibrated threshold can be
  0.00003 (target FRR on a model whose good items score near 0), so a unit rejected for damage
  at 0.000042 showed "reject - damage - damage 0.000". Scores below 0.001 are shown with two
  significant digits (and a score just under 1, shown as 1.000, with two significant digits of
  its distance to 1), and an item the model could not score shows its verdict and "not scored"
  (run under Node with a fake DOM and fetch).
* The demo report's champion/challenger table rounded the two SQLs to three decimals under the
  caption "kept: challenger": 0.81234 against 0.81231 read as 0.812 and 0.812. It shows the
  digits that tell them apart."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

import serving.service.pages as pages
from serving.demo.report import _monitoring
from serving.report import Report

STATIC = Path(pages.__file__).resolve().parent / "static"

HARNESS = r"""
const fs = require('fs');
const read = path => fs.readFileSync(path, 'utf8');
const script = read(process.argv[2]) + '\n' + read(process.argv[3]);
const answer = JSON.parse(process.argv[4]);
let submit = null;
function element(id) {
  return {id, value: '', files: [], innerHTML: '', textContent: '',
          addEventListener(kind, handler) { if (kind === 'submit') submit = handler; }};
}
const elements = {};
for (const id of ['form', 'views', 'product', 'item', 'result']) elements[id] = element(id);
global.document = {getElementById: id => elements[id]};
global.localStorage = {getItem: () => null, setItem() {}, removeItem() {}};
global.fetch = async () => ({ok: true, status: 200, json: async () => answer});
(async () => {
  new Function(script)();
  try { await submit({preventDefault() {}}); } catch (error) { console.error(String(error)); }
  console.log(JSON.stringify({html: elements.result.innerHTML}));
})();
"""


def _station_html(tmp_path: Path, answer: dict) -> str:
    """What the station page shows for ``answer`` (a /v1/inspect body), run under Node."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    (tmp_path / "harness.js").write_text(HARNESS)
    args = [node, str(tmp_path / "harness.js"), str(STATIC / "common.js"),
            str(STATIC / "station.js"), json.dumps(answer)]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])["html"]


def test_the_station_shows_a_small_score_that_decided_a_reject(tmp_path):
    answer = {"verdict": "reject", "reasons": ["damage"], "views": [],
              "scores": {"damage": 0.0000421, "packaging": 0.25, "wrong_size": 0.0}}  # fmt: skip
    html = _station_html(tmp_path, answer)
    cells = dict(re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", html))
    assert cells == {"damage": "0.000042", "packaging": "0.250", "wrong_size": "0.000"}, html


def test_the_station_shows_a_score_just_under_one_as_under_one(tmp_path):
    # Three decimals showed 0.99996 as 1.000: a pass (threshold 0.99998) read as a certain
    # defect. The distance to 1 is shown with two significant digits, as a small score is.
    answer = {"verdict": "pass", "reasons": [], "views": [],
              "scores": {"damage": 0.99996, "packaging": 0.9995, "wrong_size": 0.99949,
                         "wrong_color": 1.0}}  # fmt: skip
    html = _station_html(tmp_path, answer)
    cells = dict(re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td></tr>", html))
    assert cells == {"damage": "0.999960", "packaging": "0.99950", "wrong_size": "0.999",
                     "wrong_color": "1.000"}, html  # fmt: skip


def test_the_station_shows_the_verdict_of_an_item_it_could_not_score(tmp_path):
    # Non-finite scores: the service answers review, "not inspected", with the scores as JSON
    # null; the page called null.toFixed and stayed at "inspecting..." without the verdict.
    answer = {"verdict": "review", "reasons": ["not inspected"], "any_defect": None,
              "scores": {"damage": None, "packaging": 0.25}, "views": []}  # fmt: skip
    html = _station_html(tmp_path, answer)
    assert '<div id="verdict" class="review">review</div>' in html, html
    assert "<tr><td>damage</td><td>not scored</td></tr>" in html, html
    assert "<tr><td>packaging</td><td>0.250</td></tr>" in html, html


def test_the_champion_challenger_table_tells_the_two_losses_apart(tmp_path):
    report = Report("demo")
    monitoring = SimpleNamespace(
        report=SimpleNamespace(
            recommendation=lambda: "retrain", checks=pd.DataFrame({"segment": ["all"]})
        ),
        decision={
            "champion": {"package": "lstm/1", "sql": 0.81234},
            "challenger": {"sql": 0.81231, "trained_until": "2024-01-01"},
            "kept": "challenger",
        },
    )
    _monitoring(report, monitoring, tmp_path)
    html = report.html()
    assert "kept: challenger" in html
    assert "0.81234" in html and "0.81231" in html, re.findall(r"0\.81\d*", html)

"""An item the model could not score (non-finite scores: verdict review, "not inspected") is
answered by ``/v1/inspect`` with its scores as JSON null; the station page called
``null.toFixed`` and stayed at "inspecting..." without the verdict. It shows the verdict and
"not scored" (run under Node with a fake DOM and fetch)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

import serving.service.pages as pages

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
  console.log(JSON.stringify({html: elements.result.innerHTML || elements.result.textContent}));
})();
"""


def test_the_station_shows_the_verdict_of_an_item_it_could_not_score(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    (tmp_path / "harness.js").write_text(HARNESS)
    # what the service answers for non-finite scores (pydantic writes NaN as null)
    answer = {"verdict": "review", "reasons": ["not inspected"], "any_defect": None,
              "scores": {"damage": None, "packaging": 0.25}, "views": []}  # fmt: skip
    args = [node, str(tmp_path / "harness.js"), str(STATIC / "common.js"),
            str(STATIC / "station.js"), json.dumps(answer)]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True)
    html = json.loads(done.stdout.strip().splitlines()[-1])["html"]
    assert '<div id="verdict" class="review">review</div>' in html, (html, done.stderr)
    assert "<tr><td>damage</td><td>not scored</td></tr>" in html, html
    assert "<tr><td>packaging</td><td>0.250</td></tr>" in html, html

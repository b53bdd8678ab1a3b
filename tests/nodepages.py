"""A page's script run under Node with a fake DOM: the steps the page tests share."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

STATION_DOM = r"""
const fs = require('fs');
const script = fs.readFileSync(process.argv[2], 'utf8');
function element(id) {
  let html = '';
  return {id, value: '', files: [], handlers: {},
          get innerHTML() { return html; }, set innerHTML(v) { html = String(v); },
          get textContent() { return html; }, set textContent(v) { html = String(v); },
          addEventListener(kind, handler) { this.handlers[kind] = handler; }};
}
const elements = {};
for (const id of ['form', 'views', 'product', 'item', 'sku', 'location', 'result']) {
  elements[id] = element(id);
}
global.document = {getElementById: id => elements[id]};
global.localStorage = {getItem: () => null, setItem() {}, removeItem() {}};
global.prompt = () => null;
"""
"""The start of a Node harness for the station page: its script's text (``script``, from
argv[2]), its form's elements (``elements``, empty fields) and the browser globals it reads."""


def run_page(tmp_path: Path, harness: str, html: str, *args: str):
    """Run the ``<script>`` of the page ``html`` under the Node ``harness`` (its argv[2] is the
    script's file, then ``args``) and return the JSON the harness printed last; the test is
    skipped where Node is not installed."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    (tmp_path / "page.js").write_text(re.search(r"<script>(.*)</script>", html, re.DOTALL).group(1))
    (tmp_path / "harness.js").write_text(harness)
    command = [node, str(tmp_path / "harness.js"), str(tmp_path / "page.js"), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])

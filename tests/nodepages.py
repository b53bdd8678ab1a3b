"""A page's script run under Node with a fake DOM: the steps the page tests share."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest


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

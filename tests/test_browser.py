"""The pages in a real browser: Playwright driving Debian's Chromium (no browser download).

``.ci/run`` installs Chromium (``scripts/setup-browser.sh``); elsewhere these tests skip with
the reason when it is absent.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not CHROMIUM.exists():
    pytest.skip(
        f"{CHROMIUM} not found (scripts/setup-browser.sh installs it)", allow_module_level=True
    )


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.mark.slow
def test_a_reviewer_decides_an_item_and_it_leaves_the_queue(browser, workspace):
    from tests.test_service import running

    with running(workspace / "models", workspace=str(workspace)) as url:
        page = browser.new_page()
        page.goto(f"{url}/review")
        page.wait_for_selector("#item-A1")
        assert page.locator("#queue .card").count() == 3
        page.fill("#reviewer", "ana")
        card = page.locator("#item-A1")
        card.locator("select.defect").select_option("packaging")
        card.locator("button.reject").click()
        page.wait_for_selector("#item-A1", state="detached")
        assert "A1: reject (packaging) by ana" in page.inner_text("#status")
        assert page.locator("#queue .card").count() == 2
        page.close()
    with sqlite3.connect(workspace / "review.db") as db:
        row = db.execute("SELECT decision, defect, reviewer FROM decisions").fetchone()
    assert row == ("reject", "packaging", "ana")


@pytest.mark.slow
def test_the_report_opens_from_disk_with_every_section_and_figure(browser, demo_run):
    from serving.demo.report import SECTIONS

    page = browser.new_page()
    page.goto((demo_run / "report.html").as_uri())
    titles = page.locator("h2").all_inner_texts()
    assert titles == list(SECTIONS)
    widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) >= 8 and min(widths) > 0  # every figure decoded
    links = page.eval_on_selector_all("nav a", "links => links.map(a => a.textContent)")
    assert links == list(SECTIONS)
    page.close()


@pytest.mark.slow
def test_the_station_shows_the_verdict_of_an_uploaded_item(browser, inspection_repo, tmp_path):
    from tests.test_service import running

    repo, item_views = inspection_repo
    with running(repo) as url:
        page = browser.new_page()
        page.goto(f"{url}/station")
        page.set_input_files("#views", [str(p) for p in item_views])
        page.click("#inspect")
        page.wait_for_selector("#verdict")
        verdict = page.inner_text("#verdict")
        assert verdict in ("pass", "review", "reject")
        assert page.locator("#scores tr").count() == 5  # header + four classes
        assert page.locator("img.heatmap").count() == len(item_views)
        assert re.search(r"\w", page.inner_text("#reasons"))
        page.close()


@pytest.mark.slow
def test_the_review_page_fetches_the_rest_of_a_queue_longer_than_it_shows(browser, tmp_path):
    """The page shows the oldest 100 waiting items; deciding them all must bring the next ones
    up, not announce an empty queue while one still waits."""
    import pandas as pd

    from serving.review import ReviewStore
    from tests.test_service import running

    store = ReviewStore(tmp_path / "review.db")
    ids = [f"u{i:03d}" for i in range(101)]
    store.enqueue(
        pd.DataFrame({"item_id": ids, "sku": "S1", "location_id": "F1", "reasons": "damage"}), {}
    )
    (tmp_path / "models").mkdir()
    models, db = tmp_path / "models", str(tmp_path / "review.db")
    with running(models, health="/v2/health/live", review_db=db) as url:
        page = browser.new_page()
        page.goto(f"{url}/review")
        page.wait_for_selector("#queue .card")
        assert page.locator("#queue .card").count() == 100
        page.fill("#reviewer", "ana")
        for left in range(99, -1, -1):
            page.locator("#queue .card").first.locator("button.pass").click()
            page.wait_for_function(
                f"document.querySelectorAll('#queue .card').length == {left}"
                " || document.querySelector('#item-u100') !== null"
            )
            if page.locator("#item-u100").count():
                break
        page.wait_for_selector("#item-u100")
        assert page.locator("#empty").count() == 0
        page.close()
    assert [item["item_id"] for item in store.queue()] == ["u100"]


@pytest.mark.slow
def test_with_a_token_the_review_page_shows_its_images(browser, workspace):
    """An <img src> request carries no Authorization header: with a bearer token the service
    answers 401, so the page fetches its images with the token it holds."""
    from tests.test_service import running

    (workspace / "token").write_text("s3cret\n")
    settings = dict(workspace=str(workspace), token_file=str(workspace / "token"))
    with running(workspace / "models", **settings) as url:
        page = browser.new_page()
        page.goto(f"{url}/review")
        page.evaluate("localStorage.setItem('stockcast-token', 's3cret')")
        page.reload()
        page.wait_for_selector("#item-A1 img.view")
        page.wait_for_function(
            "[...document.querySelectorAll('#item-A1 img.view')].every(i => i.naturalWidth > 0)"
        )
        page.close()

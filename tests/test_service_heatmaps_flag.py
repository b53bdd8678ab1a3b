"""``POST /v1/inspect``'s ``heatmaps`` field: a value that is neither true nor false ("2",
"ture", "maybe") was read as false, so the answer came without heatmaps and without a word;
it is a 422 naming the field. A checkbox's "on" is true."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("value", ["2", "ture", "maybe", "none"])
def test_a_heatmaps_value_that_is_neither_true_nor_false_is_refused(inspect_client, value):
    http, files = inspect_client
    answer = http.post("/v1/inspect", files=files, data={"heatmaps": value})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith("heatmaps:")


@pytest.mark.parametrize(
    ("value", "wanted"),
    [("true", True), ("TRUE", True), ("1", True), ("on", True), ("false", False), ("no", False)],
)
def test_true_and_false_still_read(inspect_client, value, wanted):
    http, files = inspect_client
    answer = http.post("/v1/inspect", files=files, data={"heatmaps": value})
    assert answer.status_code == 200, answer.text
    shown = [v.get("heatmap_png") is not None for v in answer.json()["views"]]
    assert all(shown) if wanted else not any(shown)

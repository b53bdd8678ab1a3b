"""The service as a browser and an operator meet it: a token and CORS work together (the
preflight got a 401), an allocation too large to pad is a 413 (a 12 MiB request could take
5 GB), a review item whose id holds "/" can be opened and decided (it stayed held), and a "$"
in an id is text in a chart title, not TeX."""

from __future__ import annotations

from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from serving.cli import main
from serving.review import ReviewStore
from serving.service.app import create_app
from serving.service.config import ServiceConfig
from serving.service.pages import _chart
from tests.conftest import png

ORIGIN = "https://shop.example"


def test_cors_preflight_and_errors_work_with_a_token(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "token").write_text("s3cret\n")
    config = ServiceConfig(token_file=str(tmp_path / "token"), cors_origins=(ORIGIN,))
    with TestClient(create_app(tmp_path / "repo", config)) as client:
        # The preflight of a fetch() sending the token carries no token itself.
        preflight = client.options(
            "/v1/forecast",
            headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "authorization,content-type"},
        )  # fmt: skip
        assert preflight.status_code == 200, preflight.text
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        # The token is still required, and the browser may read the 401.
        missing = client.post("/v1/forecast", json={"rows": []}, headers={"Origin": ORIGIN})
        assert missing.status_code == 401
        assert missing.headers.get("access-control-allow-origin") == ORIGIN
        sent = {"Origin": ORIGIN, "Authorization": "Bearer s3cret"}
        answered = client.post("/v1/forecast", json={"rows": []}, headers=sent)
        assert answered.status_code == 422
        assert answered.headers.get("access-control-allow-origin") == ORIGIN
        assert client.get("/v1/review/queue", headers={"Origin": ORIGIN}).status_code == 401


def _body(k: int, samples: int) -> dict:
    # k items at one FC each and one item at k FCs: 2k series, under the series limit. The
    # kernels once padded every item to the most FCs of one item, (k + 1) x k x samples cells;
    # items now run in groups padded to their own group's most, about 2k x samples.
    keys = [(f"i{j}", "F0") for j in range(k)] + [("BIG", f"F{j}") for j in range(k)]
    return {
        "forecast": [{"item_id": "i0", "location_id": "F0", "demand_mean": 1.0, "demand_std": 1.0}],
        "inventory": [{"item_id": "i0", "location_id": "F0", "on_hand": 5.0,
                       "lead_time_mean": 2.0}],
        "allocation": {
            "demand": [{"item_id": i, "location_id": loc, "sample": s, "demand": 1}
                       for i, loc in keys for s in range(samples)],
            "stock": [{"item_id": i, "location_id": loc, "on_hand": 0} for i, loc in keys],
            "supply": [{"item_id": f"i{j}", "supply": 1} for j in range(k)]
            + [{"item_id": "BIG", "supply": 1}],
        },
    }  # fmt: skip


def test_an_allocation_too_large_to_pad_is_413(tmp_path, monkeypatch):
    with TestClient(create_app(tmp_path, ServiceConfig(timeout_s=120))) as client:
        small = client.post("/v1/plan", json=_body(20, 4))
        assert small.status_code == 200, small.text
        assert len(small.json()["allocation"]) == 40
        # 2,400 series of 24 samples: 1201 x 1200 x 24 = 34.6 million cells padded as one
        # array, 57,600 in groups.
        wide = client.post("/v1/plan", json=_body(1200, 24))
        assert wide.status_code == 200, wide.text[:200]
        assert len(wide.json()["allocation"]) == 2400
        monkeypatch.setattr("serving.service.app.MAX_ALLOCATION_CELLS", 1000)
        big = client.post("/v1/plan", json=_body(20, 40))  # 40 keys x 40 samples
        assert big.status_code == 413, big.text[:200]
        assert "allocation" in big.json()["detail"]


def test_an_item_id_with_a_slash_is_reviewable(tmp_path):
    (tmp_path / "repo").mkdir()
    ids = ["lot/7", "A1"]
    items = pd.DataFrame({"item_id": ids, "sku": ["S1", "S1"], "location_id": ["FC1", "FC1"],
                          "product_id": ["P1", "P1"], "reasons": ["r", "r"],
                          "score_damage": [0.5, 0.5]})  # fmt: skip
    views = {i: {"front": {"image": png(tmp_path / "items" / str(k) / "front.png")}}
             for k, i in enumerate(ids)}  # fmt: skip
    store = ReviewStore(tmp_path / "review.db")
    store.enqueue(items, views)
    config = ServiceConfig(review_db=str(tmp_path / "review.db"))
    with TestClient(create_app(tmp_path / "repo", config)) as client:
        assert sorted(i["item_id"] for i in client.get("/v1/review/queue").json()) == sorted(ids)
        for item in ids:
            base = f"/v1/review/items/{quote(item, safe='')}"  # as encodeURIComponent sends it
            image = client.get(f"{base}/views/front/image")
            assert image.status_code == 200 and image.content[:4] == b"\x89PNG", item
            decided = client.post(f"{base}/decision", json={"decision": "pass", "reviewer": "a"})
            assert decided.status_code == 200 and decided.json()["item_id"] == item
        assert client.get("/v1/review/queue").json() == []
        assert store.stock_adjustments()["review_units"].tolist() == [0]


def test_chart_of_an_id_with_dollar_signs():
    dates = pd.date_range("2024-03-01", periods=14)
    keys = {"item_id": "$\\frac$", "location_id": "F1"}
    rows = {
        "forecast": pd.DataFrame({**keys, "date": dates[7:], "q0.5": 5.0}),
        "panel": pd.DataFrame({**keys, "date": dates, "demand": np.arange(14.0)}),
        "daily": pd.DataFrame(
            {**keys, "date": dates[7:], "on_hand": 1.0, "unmet": 0.0, "rule": "plan"}
        ),  # fmt: skip
    }
    # Parsed as math, "$\frac$" raised ValueError (the page got a 422 instead of its chart).
    png = _chart(rows, "$\\frac$", "F1")
    assert png[:4] == b"\x89PNG"


@pytest.mark.parametrize("content", [None, "", " \r\n"])
def test_workers_refuse_an_empty_token_file_at_start(tmp_path, monkeypatch, content):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append(k))
    (tmp_path / "repo").mkdir()
    token = tmp_path / "token"
    if content is not None:
        token.write_text(content)
    for workers in ("1", "2"):
        code = main(["serve", "--repo", str(tmp_path / "repo"), "--token-file", str(token),
                     "--workers", workers, "--port", "8000"])  # fmt: skip
        assert code != 0, workers
    assert started == []


def test_workers_start_with_a_token_file(tmp_path, monkeypatch):
    import uvicorn

    started = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append(k))
    (tmp_path / "repo").mkdir()
    (tmp_path / "token").write_text("s3cret\n")
    code = main(["serve", "--repo", str(tmp_path / "repo"), "--token-file",
                 str(tmp_path / "token"), "--workers", "2", "--port", "8000"])  # fmt: skip
    assert code == 0 and started and started[0]["workers"] == 2


def test_bearer_scheme_is_case_insensitive(tmp_path):
    (tmp_path / "repo").mkdir()
    (tmp_path / "token").write_text("s3cret\r\n")
    config = ServiceConfig(token_file=str(tmp_path / "token"), reload_s=60)
    with TestClient(create_app(tmp_path / "repo", config)) as client:

        def status(header: str | None) -> int:
            headers = {} if header is None else {"Authorization": header}
            return client.get("/v2/models/absent", headers=headers).status_code

        # past the token check: the model is unknown (404)
        for ok in ("Bearer s3cret", "bearer s3cret", "BEARER s3cret", "Bearer  s3cret"):
            assert status(ok) == 404, ok
        for bad in (None, "", "Bearer", "Bearer ", "s3cret", "Basic czNjcmV0", "Bearer S3CRET",
                    "Bearer s3cret2", "Bearers3cret", "Token s3cret"):  # fmt: skip
            response = client.get("/v2/models/absent", headers={} if bad is None else
                                  {"Authorization": bad})  # fmt: skip
            assert response.status_code == 401, bad
            assert response.headers["www-authenticate"] == "Bearer"


def test_the_openapi_document_declares_the_bearer_token(tmp_path):
    """With a token the schema says so (the /docs page's Authorize button sends it; a generated
    client knows it is needed), and /redoc, which holds no data either, is open as /docs is."""
    (tmp_path / "repo").mkdir()
    (tmp_path / "token").write_text("s3cret\n")
    config = ServiceConfig(token_file=str(tmp_path / "token"), reload_s=60)
    with TestClient(create_app(tmp_path / "repo", config)) as client:
        schema = client.get("/openapi.json").json()
        assert schema["components"]["securitySchemes"]["bearer"] == {
            "type": "http", "scheme": "bearer"
        }  # fmt: skip
        assert schema["security"] == [{"bearer": []}]
        assert client.get("/redoc").status_code == 200
        assert client.get("/docs").status_code == 200
    with TestClient(create_app(tmp_path / "repo", ServiceConfig(reload_s=60))) as client:
        assert "security" not in client.get("/openapi.json").json()  # no token, none declared


def test_the_openapi_document_declares_the_open_paths_open(tmp_path):
    """Health, metrics and the pages answer without the token: the document said every
    operation needs it (a probe or scraper generated from it was set up with a secret it does
    not need), and each operation it declares open answers without one."""
    (tmp_path / "repo").mkdir()
    (tmp_path / "token").write_text("s3cret\n")
    config = ServiceConfig(token_file=str(tmp_path / "token"), reload_s=60)
    with TestClient(create_app(tmp_path / "repo", config)) as client:
        doc = client.get("/openapi.json").json()
        open_ops = {
            path
            for path, ops in doc["paths"].items()
            for op in ops.values()
            if op.get("security", doc["security"]) == []
        }
        assert open_ops == {
            "/v2/health/live", "/v2/health/ready", "/metrics",
            "/station", "/review", "/review/rejected", "/forecast",
        }  # fmt: skip
        for path in open_ops:
            assert client.get(path).status_code != 401, path
        assert client.get("/v1/review/queue").status_code == 401  # the rest still need it


def test_rows_each_naming_keys_of_their_own_are_413_not_a_huge_table(tmp_path, monkeypatch):
    # A table has a column for every key any row names: 3,000 rows of one key each, a 40 KiB
    # body, made a 3,000 x 3,000 table (9 million cells) on the event loop; a few MiB of them
    # asked for more memory than the machine has.
    monkeypatch.setattr("serving.service.app._compile_planning_kernels", lambda: None)
    forecast = [{"item_id": k, "location_id": "F", "demand_mean": 2.0, "demand_std": 1.0}
                for k in "ij"]  # fmt: skip
    inventory = [{"item_id": k, "location_id": "F", "on_hand": 5.0, "lead_time_mean": 2.0}
                 for k in "ij"]  # fmt: skip
    with TestClient(create_app(tmp_path, ServiceConfig(timeout_s=120))) as client:
        n = 3000
        for field in ("inventory", "forecast", "lead_times"):
            body = {"forecast": forecast, "inventory": inventory,
                    field: [{f"k{i}": 1} for i in range(n)]}  # fmt: skip
            answer = client.post("/v1/plan", json=body)
            assert answer.status_code == 413, (field, answer.text[:200])
            assert answer.json()["detail"].startswith(f"{field}: {n} rows naming {n} ")
        planned = client.post("/v1/plan", json={"forecast": forecast, "inventory": inventory})
        assert planned.status_code == 200, planned.text
        assert [r["item_id"] for r in planned.json()["rows"]] == ["i", "j"]
        # A row that leaves out a key the others name is still the kernels' to judge.
        sparse = [*inventory, {"item_id": "k", "location_id": "F", "on_hand": 1.0}]
        answer = client.post("/v1/plan", json={"forecast": forecast, "inventory": sparse})
        assert answer.status_code == 422 and "lead_time_mean" in answer.text, answer.text

"""Answers that are not JSON (Prometheus text, PNG charts and review photos) are declared with
their own media type on the OpenAPI page: a route returning a bare Response was declared
application/json, so a client generated from /openapi.json tried to parse a PNG as JSON."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from serving.review import ReviewStore
from serving.service.app import create_app
from serving.service.config import ServiceConfig


def _workspace(root):
    keys = {"item_id": "SKU1", "location_id": "FC1"}
    dates = pd.date_range("2024-03-01", periods=14)
    (root / "plan").mkdir()
    (root / "data").mkdir()
    pd.DataFrame([{**keys, "demand_mean": 5.0, "review": "continuous"}]).to_parquet(
        root / "plan" / "plan.parquet"
    )
    forecast = pd.DataFrame({**keys, "date": dates[7:], "step": range(1, 8), "q0.5": 5.0})
    forecast.to_parquet(root / "plan" / "forecast.parquet")
    pd.DataFrame({**keys, "date": dates, "demand": np.arange(14.0)}).to_parquet(
        root / "data" / "panel.parquet"
    )
    pd.DataFrame(
        {**keys, "date": dates[7:], "on_hand": np.arange(7.0), "unmet": 0.0, "rule": "plan"}
    ).to_parquet(root / "plan" / "simulation_daily.parquet")
    photo = root / "items" / "A1" / "front.png"
    photo.parent.mkdir(parents=True)
    Image.new("RGB", (16, 16), (200, 30, 30)).save(photo)
    items = pd.DataFrame(
        {"item_id": ["A1"], "sku": ["SKU1"], "location_id": ["FC1"], "product_id": ["P1"],
         "reasons": ["damage"], "score_damage": [0.6]}
    )  # fmt: skip
    ReviewStore(root / "review.db").enqueue(items, {"A1": {"front": {"image": str(photo)}}})


@pytest.fixture()
def client(tmp_path):
    (tmp_path / "repo").mkdir()
    _workspace(tmp_path)
    config = ServiceConfig(reload_s=60, workspace=str(tmp_path))
    with TestClient(create_app(tmp_path / "repo", config)) as client:
        yield client


def test_every_answer_has_a_declared_media_type(client):
    doc = client.get("/openapi.json").json()
    calls = [
        ("/metrics", "/metrics"),
        ("/v1/workspace/chart.png", "/v1/workspace/chart.png?item_id=SKU1&location_id=FC1"),
        ("/v1/workspace/series/{item_id}/{location_id}/chart.png",
         "/v1/workspace/series/SKU1/FC1/chart.png"),
        ("/v1/review/items/{item_id}/views/{view}/{kind}", "/v1/review/items/A1/views/front/image"),
        ("/v1/workspace/series", "/v1/workspace/series"),
    ]  # fmt: skip
    for template, url in calls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.text[:200])
        media = response.headers["content-type"].split(";")[0].strip()
        declared = doc["paths"][template]["get"]["responses"]["200"].get("content", {})
        assert media in declared, f"{url}: answered {media}, declared {sorted(declared)}"
    png = client.get("/v1/workspace/chart.png?item_id=SKU1&location_id=FC1")
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"


def test_error_answers_of_text_routes_are_declared_as_json(tmp_path):
    """The pages' and /metrics' errors (413, 504, 500: the middleware answers them for every
    path) are JSON {detail}; they were declared as text/html or text/plain holding that object,
    so a client generated from /openapi.json read them as text."""
    (tmp_path / "repo").mkdir()
    config = ServiceConfig(reload_s=60, max_body_mb=0.001)
    with TestClient(create_app(tmp_path / "repo", config)) as client:
        doc = client.get("/openapi.json").json()
        for path in ("/metrics", "/station", "/review", "/review/rejected", "/forecast"):
            response = client.request("GET", path, content=b"x" * 5000)
            assert response.status_code == 413, (path, response.text[:200])
            media = response.headers["content-type"].split(";")[0].strip()
            responses = doc["paths"][path]["get"]["responses"]
            declared = responses["4XX"].get("content", {})
            assert media in declared, f"{path}: answered {media}, declared {sorted(declared)}"
            assert sorted(declared) == ["application/json"]
            assert sorted(responses["5XX"]["content"]) == ["application/json"]
            ok = client.get(path)
            assert ok.status_code == 200
            kind = ok.headers["content-type"].split(";")[0].strip()
            assert sorted(responses["200"]["content"]) == [kind], (path, responses["200"])

"""The forecast page's error answers name the workspace's files relative to it: they go to
any client, which is not told where the server keeps its files (they said
"workspace /srv/runs/demo: missing ..." and "/srv/runs/demo/plan/plan.parquet: not a readable
parquet file")."""

from __future__ import annotations

import pandas as pd
from fastapi import FastAPI
from fastapi.testclient import TestClient

from serving.service.pages import WORKSPACE, pages_router

IDS = {"item_id": "SKU1", "location_id": "FC1"}


def _answers(root) -> list:
    app = FastAPI()
    app.include_router(pages_router(None, str(root)))
    client = TestClient(app)
    return [client.get("/v1/workspace/series"), client.get("/v1/workspace/plan", params=IDS)]


def _files(root, broken: str | None = None, without: str | None = None) -> None:
    for name, (path, columns) in WORKSPACE.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        if name == broken:
            (root / path).write_bytes(b"not parquet")
            continue
        frame = pd.DataFrame({c: [IDS.get(c, 1.0)] for c in columns})
        frame.drop(columns=[without] if name == "plan" and without else []).to_parquet(root / path)


def test_a_missing_workspace_file_is_named_without_the_server_path(tmp_path):
    root = tmp_path / "srv" / "demo"
    root.mkdir(parents=True)
    for answer in _answers(root):
        assert answer.status_code == 404, answer.text
        assert str(tmp_path) not in answer.text and "plan/plan.parquet" in answer.text


def test_an_unreadable_workspace_file_is_named_without_the_server_path(tmp_path):
    root = tmp_path / "srv" / "demo"
    _files(root, broken="forecast")
    for answer in _answers(root):
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert str(tmp_path) not in detail and "plan/forecast.parquet" in detail, detail


def test_a_workspace_table_without_a_column_is_named_without_the_server_path(tmp_path):
    root = tmp_path / "srv" / "demo"
    _files(root, without="demand_mean")
    for answer in _answers(root):
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert str(tmp_path) not in detail and "demand_mean" in detail, detail

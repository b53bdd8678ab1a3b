"""Every error answer of the service validates against the response schema its OpenAPI
document declares for it (FastAPI declared its own 422 body, {detail: [{loc, msg, type}]},
which no answer of the service has: a client generated from /openapi.json failed to read them)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from serving.service.app import create_app
from serving.service.config import ServiceConfig

jsonschema_rs = pytest.importorskip("jsonschema_rs")


def _declared(doc: dict, path: str, method: str, status: int) -> dict:
    responses = doc["paths"][path][method]["responses"]
    spec = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
    assert spec is not None, f"{method.upper()} {path}: {status} is not declared"
    schema = spec["content"]["application/json"]["schema"]
    return {"components": doc.get("components", {}), **schema}


def _errors(doc: dict, path: str, method: str, response) -> list[str]:
    validator = jsonschema_rs.validator_for(_declared(doc, path, method, response.status_code))
    return [e.message for e in validator.iter_errors(response.json())]


@pytest.fixture()
def client(tmp_path):
    (tmp_path / "repo").mkdir()
    with TestClient(create_app(tmp_path / "repo", ServiceConfig(reload_s=60))) as client:
        yield client


def test_error_answers_match_the_declared_schemas(client):
    doc = client.get("/openapi.json").json()
    answers = [
        # pydantic's request validation: a list of {field, problem}
        ("/v1/forecast", "post", client.post("/v1/forecast", json={"rows": []})),
        ("/v1/plan", "post", client.post("/v1/plan", json={"inventory": "x"})),
        ("/v2/models/{name}/infer", "post", client.post("/v2/models/m/infer", json={})),
        # the service's own 4xx: {detail: text}
        ("/v1/forecast", "post", client.post("/v1/forecast", json={"rows": [{"a": 1}]})),
        ("/v1/plan", "post", client.post("/v1/plan", json={"inventory": [{"a": 1}]})),
        ("/v1/inspect", "post", client.post("/v1/inspect", content=b"x")),
        ("/v2/models/{name}", "get", client.get("/v2/models/absent")),
    ]
    statuses = []
    for path, method, response in answers:
        statuses.append(response.status_code)
        assert 400 <= response.status_code < 500, response.text
        assert _errors(doc, path, method, response) == [], (path, response.text)
    assert 422 in statuses and 404 in statuses


def test_readiness_before_a_model_matches_its_schema(client):
    doc = client.get("/openapi.json").json()
    response = client.get("/v2/health/ready")
    assert response.status_code == 503 and response.json() == {"ready": False}
    assert _errors(doc, "/v2/health/ready", "get", response) == []

"""The inference service, started for real with uvicorn on 127.0.0.1 and called over HTTP.

Its answers equal the runtime's; a new package version is picked up while it runs and a
changed one is refused while the old keeps serving; bad requests are 4xx naming the field and
the server keeps serving; a full queue is 503 with Retry-After; the bearer token is enforced.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import threading
import time
from contextlib import contextmanager

import httpx
import numpy as np
import pandas as pd
import pytest
import uvicorn

from serving.export import export_run
from serving.runtime import ForecastPackage
from serving.service.app import create_app
from serving.service.batching import Batcher, Overloaded
from serving.service.config import ServiceConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(repo, **settings):
    """A live server on a free port; yields its base URL."""
    config = ServiceConfig(port=free_port(), reload_s=0.2, **settings)
    app = create_app(repo, config)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=config.port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{config.port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/v2/health/ready", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    else:
        raise RuntimeError("the server did not become ready")
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def repo(lstm_package, tmp_path_factory):
    forecaster, package, root = lstm_package
    folder = tmp_path_factory.mktemp("service") / "repo"
    shutil.copytree(root / "repo", folder)
    return folder, forecaster, root


@pytest.fixture(scope="module")
def server(repo):
    with running(repo[0]) as url:
        yield url


@pytest.fixture(scope="module")
def rows(small_network):
    frame = small_network.to_frame()
    few = frame[frame["item_id"].isin(frame["item_id"].unique()[:2])]
    few = few.assign(date=few["date"].dt.strftime("%Y-%m-%d"))
    return json.loads(few.to_json(orient="records"))


def test_forecast_equals_the_runtime(server, repo, rows):
    response = httpx.post(f"{server}/v1/forecast", json={"rows": rows}, timeout=60)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model"] == "lstm" and body["provider"] == "CPUExecutionProvider"
    expected = ForecastPackage(repo[0] / "lstm" / "1").predict(pd.DataFrame(rows))
    got = pd.DataFrame([{**r, **r.pop("quantiles")} for r in body["rows"]])
    assert len(got) == len(expected)
    np.testing.assert_allclose(got["q0.5"], expected["q0.5"], rtol=1e-5)
    assert list(got["date"]) == list(expected["date"].dt.strftime("%Y-%m-%d"))
    response = httpx.post(f"{server}/v1/forecast", json={"rows": rows, "cumulative": 7}, timeout=60)
    assert response.status_code == 200 and response.json()["rows"][0]["horizon"] == 1


def test_plan_from_series_equals_kernels_on_the_runtime_forecast(server, repo, rows):
    from kernels import plan

    keys = pd.DataFrame(rows)[["item_id", "location_id"]].drop_duplicates()
    inventory = keys.assign(on_hand=5.0, lead_time_mean=3.0, lead_time_std=0.5)
    payload = {"series": rows, "inventory": json.loads(inventory.to_json(orient="records"))}
    response = httpx.post(f"{server}/v1/plan", json=payload, timeout=60)
    assert response.status_code == 200, response.text
    cumulative = ForecastPackage(repo[0] / "lstm" / "1").predict(pd.DataFrame(rows), cumulative=7)
    expected = plan(cumulative, inventory.reset_index(drop=True))
    got = pd.DataFrame(response.json()["rows"])
    np.testing.assert_allclose(got["reorder_point"], expected["reorder_point"], rtol=1e-5)
    assert response.json()["forecast_model"] == "lstm/1"


def test_oip_v2_metadata_and_infer_equal_the_runtime(server, repo, rows):
    meta = httpx.get(f"{server}/v2/models/lstm", timeout=30).json()
    assert meta["versions"] and meta["inputs"][0]["name"] == "history"
    assert meta["inputs"][0]["shape"][0] == -1  # the dynamic batch
    runtime = ForecastPackage(repo[0] / "lstm" / "1")
    job = runtime.prepare(pd.DataFrame(rows))
    inputs = [
        {"name": k, "shape": list(v.shape),
         "datatype": "BYTES" if v.dtype == object else
         {"float32": "FP32", "int64": "INT64"}[str(v.dtype)],
         "data": v.ravel().tolist()}
        for k, v in job.feeds.items()
    ]  # fmt: skip
    response = httpx.post(f"{server}/v2/models/lstm/versions/1/infer", json={"inputs": inputs})
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o for o in response.json()["outputs"]}
    expected = runtime.model.run(job.feeds)["quantiles"]
    got = np.asarray(outputs["quantiles"]["data"]).reshape(outputs["quantiles"]["shape"])
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_bad_requests_are_4xx_and_the_server_keeps_serving(server, rows):
    cases = [
        httpx.post(f"{server}/v1/forecast", content=b"{not json", timeout=30),
        httpx.post(f"{server}/v1/forecast", json={"rows": []}, timeout=30),
        httpx.post(f"{server}/v1/forecast", json={"rows": rows, "colour": 1}, timeout=30),
        httpx.post(f"{server}/v1/forecast", json={"rows": rows, "cumulative": 0}, timeout=30),
        httpx.post(f"{server}/v1/forecast", json={"rows": [{"sku": 1}]}, timeout=30),
        httpx.post(f"{server}/v1/forecast", json={"rows": rows, "model": "nope"}, timeout=30),
        httpx.post(f"{server}/v1/forecast", json={"rows": rows, "version": "9"}, timeout=30),
        httpx.post(
            f"{server}/v2/models/nope/infer",
            json={"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1.0]}]},
            timeout=30,
        ),
        httpx.post(
            f"{server}/v2/models/lstm/infer",
            json={
                "inputs": [{"name": "history", "shape": [2, 3], "datatype": "FP32", "data": [1.0]}]
            },
            timeout=30,
        ),  # fmt: skip
        httpx.post(f"{server}/v1/plan", json={"inventory": [{"item_id": "a"}]}, timeout=30),
        httpx.post(f"{server}/v1/forecast", content=b"x" * (17 * 2**20), timeout=60),
    ]
    statuses = [c.status_code for c in cases]
    assert statuses == [422, 422, 422, 422, 422, 404, 404, 404, 422, 422, 413], [
        c.text[:200] for c in cases
    ]
    named = cases[4].json()["detail"]
    assert "item_id" in named  # the missing column is named
    assert "cumulative" in json.dumps(cases[3].json())
    assert httpx.post(f"{server}/v1/forecast", json={"rows": rows}, timeout=60).status_code == 200


def test_metrics_count_requests_and_name_the_provider(server, rows):
    httpx.post(f"{server}/v1/forecast", json={"rows": rows}, timeout=60)
    text = httpx.get(f"{server}/metrics", timeout=30).text
    assert 'stockcast_requests_total{endpoint="/v1/forecast",status="200"}' in text
    assert 'stockcast_model_provider{model="lstm",provider="CPUExecutionProvider",version="1"}' in (
        text
    )
    assert "stockcast_batch_rows_bucket" in text and "stockcast_request_seconds" in text


def test_new_versions_load_and_changed_ones_are_refused(repo, rows):
    folder, _, root = repo
    with running(folder) as url:
        assert httpx.get(f"{url}/v2/models/lstm", timeout=30).json()["versions"] == ["1"]
        export_run(root / "runs" / "lstm", folder)  # version 2, atomically
        bad = export_run(root / "runs" / "lstm", folder.parent / "elsewhere", "lstm", "3")
        onnx_file = bad / "model.onnx"
        onnx_file.write_bytes(onnx_file.read_bytes()[:-2] + b"xx")
        shutil.copytree(bad, folder / "lstm" / "3")
        deadline = time.time() + 60
        while time.time() < deadline:
            versions = httpx.get(f"{url}/v2/models/lstm", timeout=30).json()["versions"]
            if versions == ["1", "2"]:
                break
            time.sleep(0.2)
        assert versions == ["1", "2"]  # 3 refused: its model.onnx does not match
        time.sleep(1.0)  # further scans do not take it either
        response = httpx.post(f"{url}/v1/forecast", json={"rows": rows}, timeout=60)
        assert response.status_code == 200 and response.json()["version"] == "2"


def test_the_bearer_token_is_required(repo, rows, tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    with running(repo[0], token_file=str(token)) as url:
        assert httpx.post(f"{url}/v1/forecast", json={"rows": rows}).status_code == 401
        wrong = {"Authorization": "Bearer nope"}
        assert (
            httpx.post(f"{url}/v1/forecast", json={"rows": rows}, headers=wrong).status_code == 401
        )
        ok = {"Authorization": "Bearer s3cret"}
        response = httpx.post(f"{url}/v1/forecast", json={"rows": rows}, headers=ok, timeout=60)
        assert response.status_code == 200
        assert httpx.get(f"{url}/v2/health/live").status_code == 200  # probes stay open


def test_a_full_queue_answers_503_with_retry_after(repo, rows):
    async def burst(url: str) -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            calls = [client.post(f"{url}/v1/forecast", json={"rows": rows}) for _ in range(12)]
            return await asyncio.gather(*calls)

    with running(repo[0], queue_size=1, max_batch=1, batch_wait_ms=0) as url:
        responses = asyncio.run(burst(url))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 503} and 200 in statuses and 503 in statuses, statuses
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.headers["retry-after"] == "1"


def test_batcher_groups_requests_and_bounds_its_queue():
    from concurrent.futures import ThreadPoolExecutor

    sizes = []

    def run(jobs):
        time.sleep(0.05)
        return [job * 10 for job in jobs]

    async def scenario():
        batcher = Batcher(run, max_batch=8, wait_s=0.02, queue_size=4,
                          executor=ThreadPoolExecutor(1), on_batch=sizes.append)  # fmt: skip
        results = await asyncio.gather(*(batcher.submit(i, 1) for i in range(4)))
        assert results == [0, 10, 20, 30]
        pending = [asyncio.ensure_future(batcher.submit(i, 1)) for i in range(8)]
        await asyncio.sleep(0)
        outcomes = await asyncio.gather(*pending, return_exceptions=True)
        await batcher.close()
        return outcomes

    outcomes = asyncio.run(scenario())
    assert sizes[0] == 4  # the first four ran as one batch
    assert any(isinstance(o, Overloaded) for o in outcomes)
    assert [o for o in outcomes if not isinstance(o, Exception)]


def test_a_request_is_refused_before_it_is_prepared_when_every_place_is_taken():
    """The bound covers preparation (a table's validation, an item's decoding), not only the
    queue in front of the session: under overload a 503 costs nothing."""
    from concurrent.futures import ThreadPoolExecutor

    batcher = Batcher(lambda jobs: jobs, max_batch=1, wait_s=0, queue_size=2,
                      executor=ThreadPoolExecutor(1))  # fmt: skip
    prepared = []
    with batcher.admitted(), batcher.admitted():
        with pytest.raises(Overloaded), batcher.admitted():
            prepared.append("third")
        assert batcher.in_flight == 2
    with batcher.admitted():  # places are given back, errors included
        prepared.append("next")
    assert prepared == ["next"] and batcher.in_flight == 0

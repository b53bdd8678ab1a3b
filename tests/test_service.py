"""The inference service, started for real with uvicorn on 127.0.0.1 and called over HTTP.

Its answers equal the runtime's; a new package version is picked up while it runs and a
changed one is refused while the old keeps serving; bad requests are 4xx naming the field and
the server keeps serving; a full queue is 503 with Retry-After; the bearer token is enforced.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import numpy as np
import pandas as pd
import pytest
import uvicorn

from serving.export import export_run
from serving.runtime import ForecastPackage
from serving.service.app import OipJob, _runner, create_app
from serving.service.batching import Batcher, Overloaded
from serving.service.config import ServiceConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running(repo, apps: list | None = None, health: str = "/v2/health/ready", **settings):
    """A live server on a free port; yields its base URL (and appends its app to ``apps``) once
    ``health`` answers (readiness needs a model; ``/v2/health/live`` serves pages without)."""
    config = ServiceConfig(port=free_port(), reload_s=0.2, **settings)
    app = create_app(repo, config)
    if apps is not None:
        apps.append(app)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=config.port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{config.port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}{health}", timeout=2).status_code == 200:
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


@pytest.fixture(scope="module")
def strict(repo):
    """A server with tight limits: one series per request, CORS for one origin, and a batch
    wait (2 s) longer than the request timeout (0.5 s), so anything batched times out."""
    settings = dict(max_series=1, cors_origins=("https://shop.example",), timeout_s=0.5,
                    batch_wait_ms=2000, max_batch=10_000)  # fmt: skip
    with running(repo[0], **settings) as url:
        yield url


def _oip_inputs(feeds: dict[str, np.ndarray]) -> list[dict]:
    """A job's feeds as OIP v2 request tensors."""
    return [
        {"name": k, "shape": list(v.shape),
         "datatype": "BYTES" if v.dtype == object else
         {"float32": "FP32", "int64": "INT64"}[str(v.dtype)],
         "data": v.ravel().tolist()}
        for k, v in feeds.items()
    ]  # fmt: skip


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
    # The days of a step travel with the rows, so a client posting them to /v1/plan plans a
    # weekly model's horizons in weeks (the daily package's steps are days).
    assert {r["step_days"] for r in response.json()["rows"]} == {1.0}


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
    inputs = _oip_inputs(job.feeds)
    response = httpx.post(f"{server}/v2/models/lstm/versions/1/infer", json={"inputs": inputs})
    assert response.status_code == 200, response.text
    outputs = {o["name"]: o for o in response.json()["outputs"]}
    expected = runtime.model.run(job.feeds)["quantiles"]
    got = np.asarray(outputs["quantiles"]["data"]).reshape(outputs["quantiles"]["shape"])
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    only = {"inputs": inputs, "outputs": [{"name": "quantiles"}]}
    response = httpx.post(f"{server}/v2/models/lstm/infer", json=only, timeout=30)
    assert [o["name"] for o in response.json()["outputs"]] == ["quantiles"]

    async def burst() -> list[httpx.Response]:  # run through the dynamic batcher together
        async with httpx.AsyncClient(timeout=60) as client:
            calls = [client.post(f"{server}/v2/models/lstm/infer", json={"inputs": inputs})
                     for _ in range(6)]  # fmt: skip
            return await asyncio.gather(*calls)

    for response in asyncio.run(burst()):
        assert response.status_code == 200, response.text
        out = next(o for o in response.json()["outputs"] if o["name"] == "quantiles")
        np.testing.assert_allclose(np.reshape(out["data"], out["shape"]), expected, rtol=1e-6)


def test_the_batch_runner_batches_alike_jobs_and_fails_only_the_bad_one(repo, rows):
    """OIP jobs and the forecast endpoint's jobs of the same shapes share one session run; a
    job whose tensors the graph rejects fails alone, as a ValueError (a 422)."""
    runtime = ForecastPackage(repo[0] / "lstm" / "1")
    domain = runtime.prepare(pd.DataFrame(rows))
    oip = OipJob(dict(domain.feeds), domain.n_windows, True)
    bad = OipJob({**domain.feeds, "history": domain.feeds["history"][:, :3]}, domain.n_windows,
                 True)  # fmt: skip
    calls = []
    loaded = type("L", (), {"runtime": runtime})()
    real = runtime.model.run
    runtime.model.run = lambda feeds: calls.append(len(next(iter(feeds.values())))) or real(feeds)
    results = _runner(loaded)([domain, oip, bad, oip])
    expected = real(domain.feeds)
    for result in (results[0], results[1], results[3]):
        np.testing.assert_allclose(result["quantiles"], expected["quantiles"], rtol=1e-6)
    assert isinstance(results[2], ValueError) and str(results[2]).startswith("inputs:")
    n = domain.n_windows
    assert calls == [3 * n, n]  # the three alike jobs at once, the odd one alone


def test_timeouts_series_limits_and_cors(strict, server, repo, rows):
    first = (rows[0]["item_id"], rows[0]["location_id"])
    one = [r for r in rows if (r["item_id"], r["location_id"]) == first]
    started = time.perf_counter()
    response = httpx.post(f"{strict}/v1/forecast", json={"rows": one}, timeout=30)
    assert response.status_code == 504 and "longer than 0.5 s" in response.json()["detail"]
    assert time.perf_counter() - started < 1.9  # answered at the timeout, not the batch's end
    feeds = ForecastPackage(repo[0] / "lstm" / "1").prepare(pd.DataFrame(one)).feeds
    oip = httpx.post(f"{strict}/v2/models/lstm/infer", json={"inputs": _oip_inputs(feeds)})
    assert oip.status_code == 504  # OIP requests queue in the same batcher

    keys = pd.DataFrame(rows)[["item_id", "location_id"]].drop_duplicates()
    fc = json.loads(keys.head(2).assign(demand_mean=3.0, demand_std=1.0).to_json(orient="records"))
    inv = json.loads(keys.head(2).assign(on_hand=5.0, lead_time_mean=2.0).to_json(orient="records"))
    too_many = {
        "rows": httpx.post(f"{strict}/v1/forecast", json={"rows": rows}, timeout=30),
        "series": httpx.post(f"{strict}/v1/plan", json={"series": rows, "inventory": inv[:1]}),
        "forecast": httpx.post(f"{strict}/v1/plan", json={"forecast": fc, "inventory": inv[:1]}),
        "inventory": httpx.post(f"{strict}/v1/plan", json={"forecast": fc[:1], "inventory": inv}),
    }
    for field, response in too_many.items():
        assert response.status_code == 413, (field, response.text)
        n = 6 if field in ("rows", "series") else 2  # 2 items x 3 locations; 2 keys
        assert response.json()["detail"] == f"{field}: {n} series, more than 1"
    small = httpx.post(f"{strict}/v1/plan", json={"forecast": fc[:1], "inventory": inv[:1]})
    assert small.status_code in (200, 504), small.text  # one key: not refused (a busy CI may
    # take longer than this server's 0.5 s over kernels' first plan)

    origin = {"Origin": "https://shop.example"}
    allowed = httpx.get(f"{strict}/v2/health/live", headers=origin)
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    preflight = httpx.options(
        f"{strict}/v1/forecast",
        headers={**origin, "Access-Control-Request-Method": "POST"},
    )
    assert (
        preflight.status_code == 200 and "POST" in preflight.headers["access-control-allow-methods"]
    )
    other = httpx.get(f"{strict}/v2/health/live", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    off = httpx.get(f"{server}/v2/health/live", headers=origin)  # default: CORS off
    assert off.status_code == 200 and "access-control-allow-origin" not in off.headers


def test_logs_are_json_lines_with_the_request_id(server, rows):
    handler = logging.getLogger("stockcast.service").handlers[0]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        response = httpx.post(f"{server}/v1/forecast", json={"rows": rows}, timeout=60,
                              headers={"X-Request-ID": "trace-42"})  # fmt: skip
        unnamed = httpx.get(f"{server}/v2/health/live")
    finally:
        handler.setStream(previous)
    assert response.headers["x-request-id"] == "trace-42"
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    mine = [e for e in lines if e["request_id"] == "trace-42" and e["message"] == "request"]
    assert mine and mine[0]["path"] == "/v1/forecast" and mine[0]["status"] == 200
    assert mine[0]["level"] == "info" and "ms" in mine[0]
    generated = unnamed.headers["x-request-id"]
    assert len(generated) == 16 and any(e["request_id"] == generated for e in lines)


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
            f"{server}/v2/models/lstm/versions/9/infer",
            json={"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1.0]}]},
            timeout=30,
        ),
        httpx.get(f"{server}/v2/models/lstm/versions/9", timeout=30),
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
    assert statuses == [422, 422, 422, 422, 422, 404, 404, 404, 404, 404, 422, 422, 413], [
        c.text[:200] for c in cases
    ]
    named = cases[4].json()["detail"]
    assert "no version '9'" in cases[8].json()["detail"]
    assert "item_id" in named  # the missing column is named
    assert "--" not in named  # ... as a request's field, not through a command-line flag
    assert "cumulative" in json.dumps(cases[3].json())
    # A body that is not JSON is named as the body, not by pydantic's character offset.
    assert cases[0].json()["detail"][0]["field"] == "body"
    assert httpx.post(f"{server}/v1/forecast", json={"rows": rows}, timeout=60).status_code == 200


def test_metrics_count_requests_and_name_the_provider(server, rows):
    httpx.post(f"{server}/v1/forecast", json={"rows": rows}, timeout=60)
    text = httpx.get(f"{server}/metrics", timeout=30).text
    assert 'stockcast_requests_total{endpoint="/v1/forecast",status="200"}' in text
    assert 'stockcast_model_provider{model="lstm",provider="CPUExecutionProvider",version="1"}' in (
        text
    )
    assert "stockcast_batch_rows_bucket" in text and "stockcast_request_seconds" in text
    assert 'stockcast_queue_depth{model="lstm"} 0.0' in text  # nothing waiting now


def test_new_versions_load_and_changed_ones_are_refused(repo, rows):
    folder, _, root = repo
    with running(folder) as url:
        assert httpx.get(f"{url}/v2/models/lstm", timeout=30).json()["versions"] == ["1"]
        export_run(root / "runs" / "lstm", folder)  # version 2, atomically
        bad = export_run(root / "runs" / "lstm", folder.parent / "elsewhere", "lstm", "3")
        onnx_file = bad / "model.onnx"
        original = onnx_file.read_bytes()
        onnx_file.write_bytes(original[:-2] + b"xx")
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
        # Mended (same size, a new mtime): the refusal was of those files, so it is retried.
        (folder / "lstm" / "3" / "model.onnx").write_bytes(original)
        assert _wait_for_versions(url, ["1", "2", "3"]) == ["1", "2", "3"]


def _wait_for_versions(url: str, want: list[str], within: float = 60) -> list[str]:
    deadline = time.time() + within
    while True:
        versions = httpx.get(f"{url}/v2/models/lstm", timeout=30).json()["versions"]
        if versions == want or time.time() > deadline:
            return versions
        time.sleep(0.1)


def test_a_version_copied_file_by_file_is_served_and_a_removed_one_finishes(repo, rows, tmp_path):
    """A version copied in with its manifest first is refused while incomplete and served once
    complete; a version removed while a request waits in its batcher answers that request, and
    then its batcher stops."""
    folder, _, root = repo
    fresh = tmp_path / "repo"
    shutil.copytree(folder / "lstm" / "1", fresh / "lstm" / "1")
    source = export_run(root / "runs" / "lstm", tmp_path / "staging", "lstm", "2")
    apps: list = []
    with running(fresh, apps, batch_wait_ms=1500, max_batch=10_000) as url:
        repository = apps[0].state.repository
        target = fresh / "lstm" / "2"
        target.mkdir()
        shutil.copy(source / "manifest.json", target / "manifest.json")
        deadline = time.time() + 30
        while ("lstm", "2") not in repository.refused and time.time() < deadline:
            time.sleep(0.05)
        assert ("lstm", "2") in repository.refused  # incomplete: refused, and not served
        time.sleep(0.5)  # later scans of the unchanged folder do not retry it
        assert _wait_for_versions(url, ["1"], within=0) == ["1"]
        for path in sorted(source.rglob("*")):
            if path.is_file() and path.name != "manifest.json":
                (target / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(path, target / path.relative_to(source))
        assert _wait_for_versions(url, ["1", "2"]) == ["1", "2"]
        assert ("lstm", "2") not in repository.refused
        old = repository.snapshot.get("lstm", "2")
        with ThreadPoolExecutor(1) as pool:
            payload = {"rows": rows, "version": "2"}
            pending = pool.submit(httpx.post, f"{url}/v1/forecast", json=payload, timeout=60)
            while not old.batcher.busy() and not pending.done():
                time.sleep(0.01)
            shutil.rmtree(target)  # while the request waits for its batch
            assert _wait_for_versions(url, ["1"]) == ["1"]
            response = pending.result()
        assert response.status_code == 200 and response.json()["version"] == "2"
        deadline = time.time() + 10
        while old.batcher._worker is not None and time.time() < deadline:
            time.sleep(0.05)
        assert old.batcher._worker is None  # closed once its request had its answer
        assert httpx.post(f"{url}/v1/forecast", json=payload).status_code == 404


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
    """Domain and OIP v2 requests alike take one of the model's places or get 503."""
    runtime = ForecastPackage(repo[0] / "lstm" / "1")
    job = runtime.prepare(pd.DataFrame(rows))
    expected = runtime.model.run(job.feeds)["quantiles"]
    oip = {"inputs": _oip_inputs(job.feeds)}

    async def burst(url: str, path: str, payload: dict) -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=60) as client:
            calls = [client.post(f"{url}{path}", json=payload) for _ in range(12)]
            return await asyncio.gather(*calls)

    with running(repo[0], queue_size=1, max_batch=1, batch_wait_ms=0) as url:
        bursts = {
            "forecast": asyncio.run(burst(url, "/v1/forecast", {"rows": rows})),
            "oip": asyncio.run(burst(url, "/v2/models/lstm/versions/1/infer", oip)),
        }
    for name, responses in bursts.items():
        statuses = sorted(r.status_code for r in responses)
        assert set(statuses) <= {200, 503} and 200 in statuses and 503 in statuses, (name, statuses)
        busy = [r for r in responses if r.status_code == 503]
        assert all(r.headers["retry-after"] == "1" for r in busy)
    for response in bursts["oip"]:
        if response.status_code == 200:
            out = next(o for o in response.json()["outputs"] if o["name"] == "quantiles")
            np.testing.assert_allclose(np.reshape(out["data"], out["shape"]), expected, rtol=1e-6)


def test_batcher_groups_requests_and_bounds_its_queue():
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


def test_a_closed_batcher_answers_what_it_holds_and_fails_jobs_one_by_one():
    def run(jobs):
        time.sleep(0.1)
        return [ValueError(f"job {j}") if j < 0 else j * 10 for j in jobs]

    async def scenario():
        batcher = Batcher(run, max_batch=8, wait_s=0.01, queue_size=4,
                          executor=ThreadPoolExecutor(1))  # fmt: skip
        with batcher.admitted():
            jobs = [asyncio.ensure_future(batcher.submit(j, 1)) for j in (1, -1, 2)]
            await asyncio.sleep(0.03)  # taken off the queue: running
            closing = asyncio.ensure_future(batcher.close(grace_s=10))
            outcomes = await asyncio.gather(*jobs, return_exceptions=True)
            assert not closing.done()  # a request is still admitted
        await closing
        return outcomes, batcher

    outcomes, batcher = asyncio.run(scenario())
    assert outcomes[0] == 10 and outcomes[2] == 20  # a failed job fails only itself
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "job -1"
    assert batcher._worker is None and not batcher.busy()


def test_a_request_is_refused_before_it_is_prepared_when_every_place_is_taken():
    """The bound covers preparation (a table's validation, an item's decoding), not only the
    queue in front of the session: under overload a 503 costs nothing."""
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


def test_a_bad_row_is_named_by_its_position_in_the_request(server, rows):
    """A validation error names rows as positions of the request's list, not CSV lines."""
    reply = httpx.post(f"{server}/v1/forecast", json={"rows": [*rows, rows[0]]}, timeout=60)
    assert reply.status_code == 422
    detail = reply.json()["detail"]
    assert "duplicate" in detail and "row 0" in detail and f"row {len(rows)}" in detail
    assert "CSV" not in detail

"""A request past ``--timeout-s`` gives its place back: the middleware answers 504 but does not
cancel the handler behind it, so a job still queued ran for nobody and held its place (three
timed-out requests kept a queue of 3 full, and the next request waited behind their runs).
A job that times out while queued is dropped unrun; one in a running batch keeps its place
until that batch ends, as the README says."""

from __future__ import annotations

import asyncio
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from fastapi.testclient import TestClient

from serving.service.app import create_app
from serving.service.batching import Batcher
from serving.service.config import ServiceConfig


def test_jobs_that_time_out_while_queued_are_never_run_and_free_their_places():
    started = []

    def run(jobs):
        started.append(len(jobs))
        time.sleep(0.3)
        return [float(job.sum()) for job in jobs]

    async def scenario():
        batcher = Batcher(run, max_batch=1, wait_s=0, queue_size=3,
                          executor=ThreadPoolExecutor(1))  # fmt: skip

        async def request(timeout):
            with batcher.admitted():
                # equal jobs (the same rows sent twice) are still different requests
                return await batcher.submit(np.zeros(3), 1, timeout)

        outcomes = await asyncio.gather(*(request(0.1) for _ in range(3)), return_exceptions=True)
        assert batcher.in_flight == 0
        fresh = await request(2.0)
        await batcher.close(1.0)
        return outcomes, fresh, batcher

    t0 = time.perf_counter()
    outcomes, fresh, batcher = asyncio.run(scenario())
    assert all(isinstance(o, TimeoutError) for o in outcomes), outcomes
    assert started == [1, 1]  # the running one, then the fresh one: the queued two never ran
    assert fresh == 0.0 and not batcher.busy()
    assert time.perf_counter() - t0 < 1.5


@pytest.mark.slow
def test_the_service_drops_timed_out_requests_from_the_queue(lstm_package, tmp_path):
    _, _, root = lstm_package
    repo = tmp_path / "repo"
    shutil.copytree(root / "repo", repo)
    config = ServiceConfig(reload_s=60, timeout_s=0.4, max_batch=1, batch_wait_ms=1, queue_size=3)
    app = create_app(repo, config)
    with TestClient(app) as client:
        loaded = app.state.repository.snapshot.get("lstm")
        real, runs, slow = loaded.runtime.model.run, [], {"s": 0.8}

        def run(feeds):
            runs.append(time.perf_counter())
            time.sleep(slow["s"])
            return real(feeds)

        loaded.runtime.model.run = run
        # the OIP tensors of a batch of one (zeros, empty strings), as the README builds them
        meta = client.get("/v2/models/lstm").json()
        inputs = []
        for t in meta["inputs"]:
            shape = [1 if d == -1 else d for d in t["shape"]]
            fill = "" if t["datatype"] == "BYTES" else 0
            inputs.append({**t, "shape": shape, "data": [fill] * int(np.prod(shape))})
        with ThreadPoolExecutor(3) as pool:
            calls = [pool.submit(client.post, "/v2/models/lstm/infer", json={"inputs": inputs})
                     for _ in range(3)]  # fmt: skip
            codes = [c.result().status_code for c in calls]
        assert codes == [504, 504, 504]
        assert len(runs) == 1  # the two queued behind the slow run were dropped, not run
        assert loaded.batcher.in_flight == 0
        slow["s"] = 0.0
        assert client.post("/v2/models/lstm/infer", json={"inputs": inputs}).status_code == 200

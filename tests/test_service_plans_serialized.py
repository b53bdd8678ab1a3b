"""/v1/plan runs one plan at a time: the plan kernels are Numba parallel functions, and Numba's
workqueue threading layer (its fallback without TBB or an OpenMP runtime) aborts the whole
service process (SIGABRT) when two threads launch them at once. The service ran plans in its
4-thread pool, so concurrent /v1/plan requests overlapped."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient

import kernels
from serving.service.app import create_app
from serving.service.config import ServiceConfig

BODY = {
    "forecast": [{"item_id": "a", "location_id": "x", "demand_mean": 5, "demand_std": 2}],
    "inventory": [{"item_id": "a", "location_id": "x", "on_hand": 12, "lead_time_mean": 4}],
}


def test_concurrent_plan_requests_never_run_the_kernels_at_once(tmp_path, monkeypatch):
    real = kernels.plan
    lock = threading.Lock()
    state = {"running": 0, "most": 0}

    def watched(*args, **kwargs):
        with lock:
            state["running"] += 1
            state["most"] = max(state["most"], state["running"])
        try:
            time.sleep(0.3)  # long enough for the other requests to arrive
            return real(*args, **kwargs)
        finally:
            with lock:
                state["running"] -= 1

    monkeypatch.setattr(kernels, "plan", watched)
    (tmp_path / "repo").mkdir()
    with TestClient(create_app(tmp_path / "repo", ServiceConfig(reload_s=60))) as client:
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: client.post("/v1/plan", json=BODY), range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    rows = [a.json()["rows"] for a in answers]
    assert all(r == rows[0] for r in rows)
    assert state["most"] == 1

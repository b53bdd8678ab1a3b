"""The review endpoints ran their SQLite calls on the event loop. A decision waits for the
database's write lock (held by another worker of ``serve --workers N``, or a plan reading the
queue) for up to the connection's 30-second timeout, and while it waited every other request
of the service (forecasts, station verdicts, health checks) waited with it."""

from __future__ import annotations

import sqlite3
import threading
import time

from fastapi import FastAPI
from fastapi.testclient import TestClient

from serving.review import ReviewStore
from serving.service.pages import pages_router


def test_a_decision_waiting_for_the_write_lock_does_not_stall_other_requests(tmp_path):
    store = ReviewStore(tmp_path / "review.db")
    store.enqueue_photos({"item_id": "u1", "sku": "S1", "location_id": "FC1"}, {})
    app = FastAPI()
    app.include_router(pages_router(None, None, store))

    @app.get("/ping")
    async def ping() -> str:
        return "pong"

    other_worker = sqlite3.connect(store.path, isolation_level=None, check_same_thread=False)
    other_worker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    released = threading.Event()

    def release() -> None:
        released.set()
        other_worker.execute("COMMIT")

    decided: dict = {}
    with TestClient(app) as client:  # one event loop for every thread's requests
        decision = threading.Thread(
            target=lambda: decided.update(
                response=client.post(
                    "/v1/review/decision",
                    params={"item_id": "u1"},
                    json={"decision": "pass", "reviewer": "ana"},
                )
            )
        )
        decision.start()
        time.sleep(0.5)  # the decision is waiting for the lock by now
        timer = threading.Timer(3.0, release)
        timer.start()
        try:
            assert client.get("/ping").json() == "pong"
            answered_while_locked = not released.is_set()
        finally:
            decision.join(timeout=60)
            timer.join()
    other_worker.close()
    assert answered_while_locked, "the ping waited for the decision's database lock"
    assert decided["response"].status_code == 200, decided["response"].text
    assert store.item("u1")["state"] == "decided"

"""The service's timeouts on Python 3.10 (``requires-python >=3.10``), where ``asyncio.wait_for``
raises ``asyncio.TimeoutError``, a class of its own, not the builtin ``TimeoutError`` it is from
3.11 on. The batch worker caught the builtin one: on 3.10 the first batch that did not fill
``max_batch`` within the wait ended the worker, its request and every later one waited for a 504,
and the middleware's timeouts were 500s. Here 3.10 is simulated: ``asyncio.TimeoutError`` is a
class of its own and ``asyncio.wait_for`` raises it."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from serving.service import app as service
from serving.service.batching import Batcher
from serving.service.config import ServiceConfig


class WaitForTimeout(Exception):
    """``asyncio.TimeoutError`` before Python 3.11 (no subclass of the builtin one)."""


@pytest.fixture()
def python310(monkeypatch):
    wait_for = asyncio.wait_for

    async def old_wait_for(awaitable, timeout):
        try:
            return await wait_for(awaitable, timeout)
        except TimeoutError:
            raise WaitForTimeout from None

    monkeypatch.setattr(asyncio, "TimeoutError", WaitForTimeout)
    monkeypatch.setattr(asyncio, "wait_for", old_wait_for)


def test_a_batch_that_does_not_fill_up_keeps_the_worker(python310):
    async def go():
        batcher = Batcher(
            lambda jobs: [10 * j for j in jobs], max_batch=64, wait_s=0.005, queue_size=4,
            executor=ThreadPoolExecutor(1),
        )  # fmt: skip
        first = await batcher.submit(4, 1, timeout=2.0)
        second = await batcher.submit(5, 1, timeout=2.0)
        await batcher.close()
        return first, second

    assert asyncio.run(go()) == (40, 50)


def test_a_request_past_the_timeout_is_a_504(python310, monkeypatch, tmp_path):
    monkeypatch.setattr(service, "_compile_planning_kernels", lambda: None)
    app = service.create_app(tmp_path, ServiceConfig(timeout_s=1e-9, reload_s=60))
    with TestClient(app) as client:
        answer = client.get("/v2/models/nothing")
    assert answer.status_code == 504

"""A request that gives up (times out or is cancelled) while its batch runs leaves a future
nobody awaits: when that batch failed, asyncio printed "Future exception was never retrieved"
at garbage collection, as plain text outside the service's JSON logs. The failure is logged
once through the service's logger instead."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from serving.service.batching import Batcher


def _failing(jobs):
    time.sleep(0.15)
    raise RuntimeError("the session failed")


@pytest.mark.parametrize("how", ["timeout", "cancel"])
def test_a_failed_batch_whose_request_gave_up_is_logged_not_printed(how, caplog):
    async def scenario():
        unhandled = []
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: unhandled.append(context["message"]))
        batcher = Batcher(_failing, max_batch=1, wait_s=0, queue_size=2,
                          executor=ThreadPoolExecutor(1))  # fmt: skip
        # try/except, not pytest.raises: its traceback would keep the future alive
        if how == "timeout":
            try:
                await batcher.submit("job", 1, 0.05)
            except TimeoutError:
                pass
        else:
            task = asyncio.ensure_future(batcher.submit("job", 1, 5.0))
            await asyncio.sleep(0.05)  # its batch is running
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            del task
            await asyncio.sleep(0.3)  # the batch fails with nobody awaiting it
        await batcher.close(1.0)
        del batcher
        await asyncio.sleep(0.01)  # the cancelled worker ends and drops its batch
        gc.collect()  # the unread future is collected: asyncio reports it now if ever
        await asyncio.sleep(0)
        return unhandled

    with caplog.at_level(logging.WARNING, logger="stockcast.service"):
        unhandled = asyncio.run(scenario())
    assert unhandled == []  # nothing printed by asyncio
    failures = [r for r in caplog.records if r.name == "stockcast.service"]
    assert [r.getMessage() for r in failures] == ["batch failed after its request gave up"]
    assert "the session failed" in str(failures[0].exc_info[1])

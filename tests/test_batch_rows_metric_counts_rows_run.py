"""``stockcast_batch_rows`` is told each batch's size (``Batcher.on_batch``). It was told the
rows the batch gathered, counting a job whose request timed out while the batch was still
waiting for more: that job never runs, so a batch that ran 1 row was reported as 6. It is now
told the rows of the jobs that run."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from serving.service.batching import Batcher


def test_a_job_that_timed_out_while_the_batch_gathered_is_not_counted():
    ran: list[int] = []
    observed: list[int] = []

    def run(jobs):
        ran.append(sum(jobs))
        return jobs

    async def scenario():
        batcher = Batcher(run, max_batch=64, wait_s=0.3, queue_size=8,
                          executor=ThreadPoolExecutor(1), on_batch=observed.append)  # fmt: skip
        gives_up = asyncio.create_task(batcher.submit(5, 5, timeout=0.05))  # 5 rows, 50 ms
        await asyncio.sleep(0.01)
        waits = asyncio.create_task(batcher.submit(1, 1))  # 1 row, joins the same batch
        return await asyncio.gather(gives_up, waits, return_exceptions=True)

    outcomes = asyncio.run(scenario())
    assert isinstance(outcomes[0], TimeoutError) and outcomes[1] == 1
    assert ran == [1]
    assert observed == [1]  # was [6]

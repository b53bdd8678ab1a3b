"""Dynamic batching: requests that arrive within a few milliseconds run as one batch.

Each model version has one :class:`Batcher`: a bounded queue (a full queue is an immediate
:class:`Overloaded`, which the service answers with 503 and ``Retry-After``, so memory stays
bounded) and one worker that takes the first waiting request, gathers more for up to
``wait_s`` or until ``max_batch`` rows, and runs them together in a thread, off the event loop.
A version that is replaced or removed is closed: its worker stops once the requests it has
admitted have their answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("stockcast.service")


class Overloaded(Exception):
    """The model's queue is full: try again shortly."""


@dataclass
class _Pending:
    job: Any
    size: int
    future: asyncio.Future


def _orphaned(future: asyncio.Future) -> None:
    """Retrieve the outcome of a job whose request gave up (timed out or was cancelled) while
    its batch ran. A failed batch's exception left unread was printed by asyncio at garbage
    collection ("Future exception was never retrieved"), as plain text outside the service's
    JSON logs; it is logged once here instead (closing's :class:`Overloaded` is no failure)."""
    if future.cancelled():
        return
    exc = future.exception()  # marks it retrieved
    if exc is not None and not isinstance(exc, Overloaded):
        log.warning("batch failed after its request gave up", exc_info=exc)


class Batcher:
    """Runs ``run(jobs) -> results`` (one result per job, in order) on batches of jobs.

    A result that is an exception is raised to that job's caller alone (``run`` can fail one
    job of a batch without failing the others). ``on_batch(rows)`` is told each batch's size
    (for metrics); ``depth()`` is the queue length.
    """

    def __init__(
        self,
        run: Callable[[list[Any]], list[Any]],
        *,
        max_batch: int,
        wait_s: float,
        queue_size: int,
        executor: Executor,
        on_batch: Callable[[int], None] | None = None,
    ):
        self.run = run
        self.max_batch = max_batch
        self.wait_s = wait_s
        self.queue: asyncio.Queue[_Pending] = asyncio.Queue(maxsize=queue_size)
        self.executor = executor
        self.on_batch = on_batch
        self._worker: asyncio.Task | None = None
        self._running = 0  # jobs taken off the queue whose batch has not finished
        self._carry: _Pending | None = None  # taken off the queue, too big for the last batch
        self._batch: list[_Pending] = []  # jobs taken off the queue, not yet answered
        self.in_flight = 0

    def depth(self) -> int:
        """Requests waiting for a batch: those queued plus one held over for the next batch."""
        return self.queue.qsize() + (self._carry is not None)

    @contextlib.contextmanager
    def admitted(self) -> Iterator[None]:
        """Hold one of the model's ``queue_size`` places from a request's preparation to its
        answer. With every place taken it raises :class:`Overloaded` at once, before the
        request costs anything: preparing a request (validating its table, decoding its
        images) costs more than running it, so the bound must cover that stage too. Used on
        the event loop only, so the count needs no lock."""
        if self.in_flight >= self.queue.maxsize:
            raise Overloaded
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    async def submit(self, job: Any, size: int, timeout: float | None = None) -> Any:
        """Queue ``job`` (``size`` rows) and wait for its result, at most ``timeout`` seconds
        (then :class:`TimeoutError`). A job that times out while queued is dropped, never run;
        one already in a running batch keeps its place until that batch ends.

        The deadline must be enforced here: the service's timeout answers the client 504, but
        the handler behind Starlette's middleware is not cancelled, so its job stayed queued,
        ran for nobody and held its place (three timed-out requests kept a queue of 3 full)."""
        if timeout is not None and timeout <= 0:
            raise TimeoutError
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._loop())
        future = asyncio.get_running_loop().create_future()
        pending = _Pending(job, size, future)
        try:
            self.queue.put_nowait(pending)
        except asyncio.QueueFull:
            self._drop_cancelled()  # places of jobs that timed out while queued
            try:
                self.queue.put_nowait(pending)
            except asyncio.QueueFull:
                raise Overloaded from None
        if timeout is None:
            return await future
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11
            if self._is_running(pending):
                future.add_done_callback(_orphaned)  # read even if this wait is cancelled
                await asyncio.wait([future])  # running: its place is held until the batch ends
            else:
                future.cancel()  # still queued: the worker skips it
            raise TimeoutError from None
        except asyncio.CancelledError:
            if not self._is_running(pending):
                future.cancel()
            else:  # its batch answers it later, with nobody awaiting it
                future.add_done_callback(_orphaned)
            raise

    def _is_running(self, pending: _Pending) -> bool:
        # By identity: two requests of the same rows are equal jobs, not the same request.
        return bool(self._running) and any(p is pending for p in self._batch)

    def _drop_cancelled(self) -> None:
        """Take the jobs whose requests gave up out of the queue (order kept)."""
        kept = []
        while not self.queue.empty():
            pending = self.queue.get_nowait()
            if not pending.future.cancelled():
                kept.append(pending)
        for pending in kept:
            self.queue.put_nowait(pending)

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if self._carry is not None:  # the job that did not fit starts this batch
                first, self._carry = self._carry, None
            else:
                first = await self.queue.get()
            batch, rows = [first], first.size
            self._batch = batch  # taken off the queue: close() answers them if it must
            deadline = time.monotonic() + self.wait_s
            while rows < self.max_batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    pending = await asyncio.wait_for(self.queue.get(), remaining)
                except asyncio.TimeoutError:  # not the builtin TimeoutError before Python 3.11:
                    # caught as that, the first batch that did not fill up ended the worker, and
                    # every later request waited for its 504
                    break
                if rows + pending.size > self.max_batch:  # it would pass max_batch: next batch
                    self._carry = pending
                    break
                batch.append(pending)
                rows += pending.size
            live = [p for p in batch if not p.future.cancelled()]  # timed out while waiting
            if not live:
                self._batch = []
                continue
            if self.on_batch:
                # The rows that run: counted with the jobs that timed out while the batch
                # gathered, a batch that ran 1 row was reported as 6.
                self.on_batch(sum(p.size for p in live))
            self._running, self._batch = len(live), live
            try:
                results = await loop.run_in_executor(self.executor, self.run, [p.job for p in live])
            except Exception as exc:  # one bad batch fails its requests, not the worker
                results = [exc] * len(live)
            finally:
                self._running, self._batch = 0, []
            for p, result in zip(live, results, strict=True):
                if p.future.done():
                    continue
                if isinstance(result, BaseException):
                    p.future.set_exception(result)
                else:
                    p.future.set_result(result)

    def busy(self) -> bool:
        """Whether any request is admitted, queued or running."""
        return bool(self.in_flight or self.depth() or self._running)

    async def close(self, grace_s: float = 0.0) -> None:
        """Stop the worker once every admitted, queued or running request has its answer
        (waiting at most ``grace_s`` seconds: past the service's timeout nobody waits)."""
        deadline = time.monotonic() + grace_s
        while self.busy() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self._worker is not None:
            self._worker.cancel()
            self._worker = None
        # Past the grace the worker is gone: the jobs it was running or had yet to take get an
        # answer (nobody reads it any more), so no request's handler waits on them forever.
        stranded = list(self._batch) + ([self._carry] if self._carry is not None else [])
        self._carry = None
        while not self.queue.empty():
            stranded.append(self.queue.get_nowait())
        for pending in stranded:
            if not pending.future.done():
                pending.future.set_exception(Overloaded())

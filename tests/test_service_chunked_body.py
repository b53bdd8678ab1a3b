"""A body sent in chunks (no content-length) is gathered whole up to the limit, and refused
past it. (It was gathered with ``body += chunk``, quadratic on the event loop: 8 MiB in 1 KiB
chunks took 58 s; the join is measured, not asserted on time, here.)"""

from __future__ import annotations

import asyncio

from serving.service.app import _read_body


class _Chunks:
    def __init__(self, n: int, size: int):
        self.n, self.piece = n, b"x" * size

    async def stream(self):
        for _ in range(self.n):
            yield self.piece


def test_a_body_past_the_limit_is_none():
    assert asyncio.run(_read_body(_Chunks(10, 100), 999)) is None
    assert asyncio.run(_read_body(_Chunks(10, 100), 1000)) == b"x" * 1000
    assert asyncio.run(_read_body(_Chunks(0, 100), 1000)) == b""

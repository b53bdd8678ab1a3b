"""What the policy modules share: row chunks and the check of quantile levels."""

from __future__ import annotations

from ..validate import check_levels

__all__ = ["CHUNK", "check_levels", "n_chunks"]

# The batched kernels take rows in chunks of this many (one ``prange`` task each): enough work
# per task to amortize the scheduling, and each chunk reports its first bad row.
CHUNK = 1024


def n_chunks(n: int) -> int:
    return (n + CHUNK - 1) // CHUNK

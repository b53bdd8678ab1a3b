"""What the policy modules share: row chunks and the check of quantile levels."""

from __future__ import annotations

import numpy as np

from .. import validate as v

# The batched kernels take rows in chunks of this many (one ``prange`` task each): enough work
# per task to amortize the scheduling, and each chunk reports its first bad row.
CHUNK = 1024


def n_chunks(n: int) -> int:
    return (n + CHUNK - 1) // CHUNK


def check_levels(levels) -> np.ndarray:
    """Quantile levels as float64: at least two, strictly increasing, inside (0, 1)."""
    levels = v.as_float_array("levels", levels, ndim=1)
    if levels.shape[0] < 2:
        raise ValueError("levels: need at least two quantile levels")
    v.check_open_unit("levels", levels)
    if not (np.diff(levels) > 0).all():
        raise ValueError(f"levels: must be strictly increasing, got {levels.tolist()}")
    return levels

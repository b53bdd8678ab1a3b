"""Per-group sums and counts of a panel's observed demand per period, for :class:`OriginPrior`.

A Numba loop, imported only when a fit builds an ``OriginPrior``: it reads the (S, T) target in
place (no masked copy) and adds each series' values into its group's row in series order,
starting from 0.0, as ``np.add.at`` did, so the float64 sums are bit-identical to it (a sort +
``np.add.reduceat`` is not: it sums long runs pairwise, in another order).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def group_period_sums(target, cutoff, groups, n_rows):  # pragma: no cover - compiled
    """``sums, counts`` (n_rows, cutoff + 1) float64: row ``groups[l, s]`` of every level ``l``
    gets series ``s``'s observed (finite) values and their count per period ``t < cutoff`` in
    column ``t + 1``, an unobserved value adding 0.0; columns 0 (and past the target's periods)
    stay 0."""
    sums = np.zeros((n_rows, cutoff + 1))
    counts = np.zeros((n_rows, cutoff + 1))
    # A cutoff past the panel's end has no periods there (their columns stay flat after the
    # cumulative sum): reading to the cutoff ran past each row, into the next series' demand
    # and past the array (Numba does not check bounds; np.add.at raised).
    n_periods = min(cutoff, target.shape[1])
    for s in range(target.shape[0]):
        for level in range(groups.shape[0]):
            g = groups[level, s]
            for t in range(n_periods):
                v = target[s, t]
                ok = np.isfinite(v)
                sums[g, t + 1] += v if ok else 0.0
                counts[g, t + 1] += 1.0 if ok else 0.0
    return sums, counts

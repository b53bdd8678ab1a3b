"""ABC segments do not depend on the order of the rows: SKUs of equal revenue share a class.

The rank was the row's place in a stable sort, so of three SKUs with the same revenue the ones
listed first counted as "above" the last: [40, 20, 20, 20] gave A, A, A, B, and moving a SKU
down the table moved it from A (98% service) to B.
"""

from __future__ import annotations

import numpy as np

from kernels import abc_segments


def _reference(revenue, cuts=(0.8, 0.95)):
    # A row's class from the share of revenue of the rows that earn strictly more than it.
    rev = np.asarray(revenue, dtype=float)
    total = rev.sum() or 1.0
    out = []
    for x in rev:
        share = rev[rev > x].sum() / total
        out.append("A" if share < cuts[0] else "B" if share < cuts[1] else "C")
    return out


def test_equal_revenue_shares_a_class_whatever_the_row_order():
    revenue = np.array([40.0, 20.0, 20.0, 20.0])
    assert list(abc_segments(revenue)) == ["A", "A", "A", "A"]
    for order in ([3, 2, 1, 0], [1, 3, 0, 2]):
        assert list(abc_segments(revenue[order])) == list(abc_segments(revenue)[order])
    assert list(abc_segments([5.0, 5.0, 5.0, 5.0, 80.0])) == ["B", "B", "B", "B", "A"]


def test_segments_match_the_rule_and_are_permutation_invariant():
    rng = np.random.default_rng(0)
    for _ in range(300):
        revenue = rng.integers(0, 6, rng.integers(1, 12)).astype(float)
        expected = _reference(revenue)
        assert list(abc_segments(revenue)) == expected
        perm = rng.permutation(len(revenue))
        assert list(abc_segments(revenue[perm])) == [expected[i] for i in perm]
    assert list(abc_segments([50.0, 30.0, 15.0, 5.0])) == ["A", "A", "B", "C"]

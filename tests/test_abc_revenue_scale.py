"""ABC segments do not depend on the revenue's unit. A share on a cut in exact arithmetic lands
an ulp below it in floating point at some scales: 2.8 of 3.5 is 0.7999999999999999, so units
[4, 1] were classed A, B and the same SKUs at a price of 0.7 (or in thousands) A, A."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from kernels import abc_segments


def _exact(units, cuts=(Fraction(4, 5), Fraction(19, 20))):
    total = sum(Fraction(int(u)) for u in units)
    out = []
    for u in units:
        share = sum(Fraction(int(v)) for v in units if v > u) / total if total else 0
        out.append("A" if share < cuts[0] else "B" if share < cuts[1] else "C")
    return out


def test_a_share_on_the_cut_is_not_below_it_at_any_scale():
    for scale in (1.0, 0.7, 0.001, 1000.0):
        assert list(abc_segments(np.array([4.0, 1.0]) * scale)) == ["A", "B"]
        assert list(abc_segments(np.array([80.0, 15.0, 5.0]) * scale)) == ["A", "B", "C"]


def test_whole_units_at_any_price_match_exact_shares():
    rng = np.random.default_rng(1)
    for _ in range(300):
        units = rng.integers(0, 12, int(rng.integers(2, 8))).astype(float)
        expected = _exact(units)
        for price in (1.0, 0.7, 0.1, 0.001, 1000.0, 0.3):
            assert list(abc_segments(units * price)) == expected, (units, price)

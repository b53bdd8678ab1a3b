"""The gbm's levels are sorted into increasing order of the levels, not of the columns.

Reference: boosters that forecast a known value per level; levels given in decreasing order
(the class takes any order, as the baselines do) must read their own level's value back.
"""

from __future__ import annotations

import numpy as np

from forecasting.models.gbm import GradientBoosted


class _Constant:
    def __init__(self, value: float):
        self.value = value

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        return np.full(len(matrix), self.value)


def test_levels_in_decreasing_order_keep_their_own_forecasts():
    model = GradientBoosted(7, "D", (0.9, 0.5, 0.1))
    boosters = {0.1: _Constant(2.0), 0.5: _Constant(5.0), 0.9: _Constant(11.0)}
    out = model._levels(boosters, np.zeros((3, 4), np.float32))
    np.testing.assert_array_equal(out, np.tile([11.0, 5.0, 2.0], (3, 1)))


def test_crossing_levels_are_reordered_by_level():
    # The median's model (Tweedie: a mean) above the 0.9 model's forecast, levels unordered.
    model = GradientBoosted(7, "D", (0.5, 0.9, 0.1))
    boosters = {0.1: _Constant(-1.0), 0.5: _Constant(12.0), 0.9: _Constant(9.0)}
    out = model._levels(boosters, np.zeros((2, 4), np.float32))
    np.testing.assert_array_equal(out, np.tile([9.0, 12.0, 0.0], (2, 1)))

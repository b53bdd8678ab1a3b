"""A cumulative forecast that falls with the horizon is planned as demand that never falls.

Demand is non-negative, so the demand of the next h + 1 days is never below that of the next
h days at any quantile level. ``plan`` sorted each row's levels but read the horizons as given:
a table whose medians went 10, 20, 30, 25, 20, 15, 10 over 7 days (normal, sd 3 sqrt(h)) at 95%
cycle service planned reorder points 38.55, 34.87, 31.04, 27.09 for lead times of 3, 4, 5, 6
days: a longer lead time, a lower reorder point. Each level is now rearranged over the
horizons first. Reference: the same plan from the table with every level sorted over h by hand
(rearrangement), and reorder points that never fall as the lead time grows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kernels import plan

LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]
Z = np.array([-1.6449, -0.6745, 0.0, 0.6745, 1.6449])
MEDIANS = [10.0, 20.0, 30.0, 25.0, 20.0, 15.0, 10.0]


def _table(values: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"item_id": "a", "location_id": "x", "horizon": np.arange(1, 8)})
    for k, level in enumerate(LEVELS):
        frame[f"q{level}"] = values[:, k]
    return frame


def _reorder_point(table: pd.DataFrame, lead_time: float) -> float:
    inventory = pd.DataFrame(
        {"item_id": ["a"], "location_id": ["x"], "on_hand": [0.0], "lead_time_mean": [lead_time],
         "lead_time_std": [0.0], "review_period": [0.0], "service_level": [0.95]}
    )  # fmt: skip
    return float(plan(table, inventory)["reorder_point"].iloc[0])


def test_longer_lead_time_never_plans_a_lower_reorder_point():
    h = np.arange(1, 8)[:, None]
    falling = np.array(MEDIANS)[:, None] + Z[None, :] * 3.0 * np.sqrt(h)
    points = [_reorder_point(_table(falling), lead) for lead in (3, 4, 5, 6)]
    assert np.all(np.diff(points) >= 0), points
    sorted_by_hand = _table(np.sort(falling, axis=0))
    expected = [_reorder_point(sorted_by_hand, lead) for lead in (3, 4, 5, 6)]
    np.testing.assert_allclose(points, expected, rtol=1e-9)


def test_a_table_that_grows_with_the_horizon_is_planned_as_before():
    h = np.arange(1, 8)[:, None]
    growing = 10.0 * h + Z[None, :] * 3.0 * np.sqrt(h)
    # 95% of a normal of mean 10 L and sd 3 sqrt(L) at whole-day lead times.
    for lead in (3, 6):
        expected = 10.0 * lead + 1.6449 * 3.0 * np.sqrt(lead)
        assert abs(_reorder_point(_table(growing), lead) - expected) < 0.01

"""Inspection counts (``rejected_units``, ``review_units``) are whole units: 2.5 is refused.

Each inspected item is one unit; a fractional count was taken off on_hand as it stood (2.5
units held, a position of 7.5), a wrong answer from a table that is not counts.
"""

import pandas as pd
import pytest

from kernels import Policy, plan

F = pd.DataFrame({"item_id": ["7"], "location_id": ["FC1"], "demand_mean": [5.0],
                  "demand_std": [2.0]})  # fmt: skip
INV = pd.DataFrame({"item_id": ["7"], "location_id": ["FC1"], "on_hand": [10.0],
                    "lead_time_mean": [3.0]})  # fmt: skip


@pytest.mark.parametrize("column", ["rejected_units", "review_units"])
def test_fractional_inspection_counts_are_refused(column):
    rejected = pd.DataFrame(
        {"item_id": ["7"], "location_id": ["FC1"], "rejected_units": [1.0], "review_units": [0.0]}
    )
    rejected[column] = 2.5
    with pytest.raises(ValueError, match=rf"{column}: not a whole number .*\(7, FC1\)"):
        plan(F, INV, Policy(service_level=0.95), rejected=rejected, hold_review=True)


def test_whole_counts_still_plan():
    rejected = pd.DataFrame({"item_id": ["7"], "location_id": ["FC1"], "rejected_units": [2.0]})
    out = plan(F, INV, Policy(service_level=0.95), rejected=rejected)
    assert out["inspection_held"].tolist() == [2.0]
    assert out["inventory_position"].tolist() == [8.0]

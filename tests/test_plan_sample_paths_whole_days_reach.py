"""plan, sample-path forecasts whose steps are not whole days (a month of 30.4375): a lead time
read on whole days must fit in the days the paths reach, or the row is refused, as the
cumulative-quantile form refuses it.

A one-month lead time of a one-month forecast is 30 or 31 days (43.75% of the orders wait 31):
the 31-day draws were cut to the paths' 30.4375 days without a word, and the plan read 301.9
units of lead-time demand from paths of 10 a day, where the orders see 304.4 on average (the
quantile form of the same forecast refused the row). Reference: the whole-day lead times
counted by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kernels import Policy, plan

MONTH = 365.25 / 12
MONTHLY = Policy(step_days=MONTH)


def _paths(steps=1, n_paths=400):
    """10 units a day on every path: a month is 304.375 units."""
    sample, step = np.meshgrid(np.arange(n_paths), np.arange(1, steps + 1), indexing="ij")
    return pd.DataFrame({"item_id": "a", "location_id": "F", "sample": sample.ravel(),
                         "step": step.ravel(), "demand": 10.0 * MONTH})  # fmt: skip


def _quantiles(steps=1):
    # Two levels (a plan refuses a table of one): 10 a day for certain, both the same.
    month = 10.0 * MONTH * np.arange(1, steps + 1)
    return pd.DataFrame({"item_id": "a", "location_id": "F", "horizon": np.arange(1, steps + 1),
                         "q0.5": month, "q0.9": month})  # fmt: skip


def _inventory(**columns):
    return pd.DataFrame({"item_id": ["a"], "location_id": ["F"], "on_hand": [0.0], **columns})


@pytest.mark.parametrize("form", [_paths, _quantiles])
def test_a_lead_time_whose_whole_days_pass_the_paths_is_refused(form):
    # 30.4375 days: 31 days for 43.75% of the orders, past the one month forecast.
    with pytest.raises(ValueError, match=r"lead_time: .* exceeds .* at key \(a, F\)"):
        plan(form(), _inventory(lead_time_mean=[MONTH]), MONTHLY)


def test_lead_time_records_whose_whole_days_pass_the_paths_are_refused():
    records = pd.DataFrame({"item_id": "a", "location_id": "F", "lead_time_days": [30.2]})
    with pytest.raises(ValueError, match=r"lead_time: .* exceeds .* at key \(a, F\)"):
        plan(_paths(), _inventory(), MONTHLY, lead_times=records)


def test_a_part_day_review_leaves_whole_days_for_the_lead_time():
    # Two weeks of paths, a 10.5-day review: 3.5 days left, and a 3.5-day lead time is 3 or 4.
    weekly = _paths(steps=2).assign(demand=70.0)
    inventory = _inventory(lead_time_mean=[3.5], review_period=[10.5])
    with pytest.raises(ValueError, match="exceeds the forecast's sample paths"):
        plan(weekly, inventory, Policy(step_days=7.0))
    # 3 days fit: every path sums 3 + 10.5 days of 10 a day.
    row = plan(weekly, inventory.assign(lead_time_mean=[3.0]), Policy(step_days=7.0)).iloc[0]
    assert row["demand_mean"] == pytest.approx(135.0, rel=1e-12)


def test_whole_days_within_the_paths_still_plan():
    row = plan(_paths(), _inventory(lead_time_mean=[30.0]), MONTHLY).iloc[0]
    assert row["demand_mean"] == pytest.approx(300.0, rel=1e-12)
    row = plan(_paths(steps=2), _inventory(lead_time_mean=[MONTH]), MONTHLY).iloc[0]
    # 30 or 31 days, the split keeping the mean: 304.375 units.
    assert row["demand_mean"] == pytest.approx(10.0 * MONTH, rel=0.01)

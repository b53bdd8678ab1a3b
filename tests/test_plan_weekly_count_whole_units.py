"""A count forecast's table is planned to whole units at every grain.

A table whose knots are all whole numbers (a count forecast's quantiles) is planned to the
smallest whole level that meets the target. A weekly table read at a lead time between two
weeks (10 days) is interpolated to days, and the knots read there are not whole: such rows
were left fractional, where the same demand as a daily table was not. Poisson demand of 0.5 a
day over 10 days at 90% cycle service: from days r = 8 (met 93.2%), from weeks r = 7.71, which
stock moving in whole units serves as 7 (86.7%). Reference: scipy's Poisson(5) quantile.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kernels import Policy, plan

LEVELS = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]


def _table(rate, step, horizons):
    rows = [{"item_id": "s", "location_id": "F", "horizon": h,
             **{f"q{lv:g}": float(stats.poisson(rate * h * step).ppf(lv)) for lv in LEVELS}}
            for h in range(1, horizons + 1)]  # fmt: skip
    return pd.DataFrame(rows)


@pytest.mark.parametrize("review", [0.0, 7.0])
def test_a_weekly_count_table_plans_whole_units_as_a_daily_one(review):
    inventory = pd.DataFrame({"item_id": ["s"], "location_id": ["F"], "on_hand": [0.0],
                              "lead_time_mean": [10.0], "review_period": [review],
                              "service_level": [0.9]})  # fmt: skip
    weekly = plan(_table(0.5, 7, 4), inventory, Policy(step_days=7))
    daily = plan(_table(0.5, 1, 28), inventory, Policy())
    r = weekly["reorder_point"].iat[0]
    assert r == np.floor(r)
    # Stock moves in whole units: the level serves its target on the exact demand.
    assert stats.poisson(0.5 * (10 + review)).cdf(r) >= 0.9
    # The same level as the daily table's (the exact one) but for the interpolation between
    # weeks, which can put one unit more (17 days: 13 from weeks where 12 meet it).
    exact = stats.poisson(0.5 * (10 + review)).ppf(0.9)
    assert daily["reorder_point"].iat[0] == exact
    assert exact <= r <= exact + (review > 0)


def test_a_weekly_table_with_fractional_knots_stays_fractional():
    table = _table(0.5, 7, 4)
    table["q0.5"] += 0.25
    inventory = pd.DataFrame({"item_id": ["s"], "location_id": ["F"], "on_hand": [0.0],
                              "lead_time_mean": [10.0], "service_level": [0.9]})  # fmt: skip
    r = plan(table, inventory, Policy(step_days=7))["reorder_point"].iat[0]
    assert r != np.floor(r)


def test_a_weekly_count_table_with_a_knot_below_zero_plans_whole_units():
    # A knot below zero is read as 0 (kernels.quantiles.repair_row), so a count table whose
    # 5% quantile is -0.3 is whole-count: the daily table planned 8, the weekly one 7.71 (met
    # 86.7% of Poisson(5), as 7 does).
    inventory = pd.DataFrame({"item_id": ["s"], "location_id": ["F"], "on_hand": [0.0],
                              "lead_time_mean": [10.0], "service_level": [0.9]})  # fmt: skip
    weekly, daily = _table(0.5, 7, 4), _table(0.5, 1, 28)
    weekly["q0.05"] = daily["q0.05"] = -0.3
    r_week = plan(weekly, inventory, Policy(step_days=7))["reorder_point"].iat[0]
    r_day = plan(daily, inventory, Policy())["reorder_point"].iat[0]
    assert r_week == r_day == stats.poisson(5.0).ppf(0.9)  # 8

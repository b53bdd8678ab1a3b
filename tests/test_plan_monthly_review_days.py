"""A monthly cumulative-quantile forecast plans periodic reviews given in days.

The plan cut a monthly step (365.25 / 12 days) into ceil(30.4375) = 31 parts of 0.98 days and
required the review period to be a whole number of them: every review period a user gives in
days (7, 14, 30, 31) was refused, also by /v1/plan from the series of a monthly model.
Reference: the demand of the protection interval's days, a month's demand N(300, 40^2) spread
evenly over its days (lower bound) or independent days (upper bound).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats

from kernels import Policy, plan

LEVELS = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]
MU, SD = 300.0, 40.0  # one month's demand, months independent
MONTH = 365.25 / 12


def _monthly(steps=6):
    rows = [("a", "F", h, *stats.norm.ppf(LEVELS, MU * h, SD * math.sqrt(h)))
            for h in range(1, steps + 1)]  # fmt: skip
    return pd.DataFrame(rows, columns=["item_id", "location_id", "horizon",
                                       *[f"q{lv}" for lv in LEVELS]])  # fmt: skip


@pytest.mark.parametrize("review", [7.0, 14.0, 30.0, 31.0, MONTH, 60.0])
def test_a_monthly_forecast_plans_a_review_period_in_days(review):
    inventory = pd.DataFrame({"item_id": ["a"], "location_id": ["F"], "on_hand": [0.0],
                              "lead_time_mean": [15.0], "review_period": [review]})  # fmt: skip
    row = plan(_monthly(), inventory, Policy(step_days=MONTH)).iloc[0]
    t = (15.0 + review) / MONTH
    whole, part = math.floor(t), t - math.floor(t)
    spread = stats.norm.ppf(0.95, MU * t, SD * math.sqrt(whole + part**2))
    daily = stats.norm.ppf(0.95, MU * t, SD * math.sqrt(t))
    assert row["demand_mean"] == pytest.approx(MU * t, rel=1e-6)
    assert spread * 0.995 <= row["order_up_to"] <= daily * 1.005

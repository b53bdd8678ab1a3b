"""Whole-count sample paths are planned to whole units at every step length.

A lead time between two steps of a weekly path (10 days) sums a part of its second week, so
the sums of count paths are not whole: such rows were left fractional where the same paths by
day were not. Poisson demand of 0.5 a day, 10 days, 90% cycle service: r = 8 from daily paths,
7.71 from the same paths summed by week, which stock moving in whole units serves as 7 (86.7%
of Poisson(5), against 93.2% at 8). Reference: the daily paths' plan and scipy's Poisson.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kernels import Policy, plan


def _paths(daily, step):
    arr = daily if step == 1 else daily.reshape(len(daily), -1, step).sum(axis=2)
    n, h = arr.shape
    sample, step = np.repeat(np.arange(n), h), np.tile(np.arange(1, h + 1), n)
    return pd.DataFrame(
        {"item_id": "s", "location_id": "F", "sample": sample, "step": step, "demand": arr.ravel()}
    )


@pytest.mark.parametrize("service_type", ["cycle", "fill_rate"])
def test_weekly_count_paths_plan_whole_units_as_daily_ones(service_type):
    daily = np.random.default_rng(2).poisson(0.5, size=(4000, 28)).astype(float)
    inventory = pd.DataFrame({"item_id": ["s"], "location_id": ["F"], "on_hand": [0.0],
                              "lead_time_mean": [10.0], "service_level": [0.9],
                              "service_type": [service_type]})  # fmt: skip
    by_week = plan(_paths(daily, 7), inventory, Policy(step_days=7))["reorder_point"].iat[0]
    by_day = plan(_paths(daily, 1), inventory, Policy())["reorder_point"].iat[0]
    assert by_week == np.floor(by_week)
    if service_type == "cycle":
        assert by_week == by_day == stats.poisson(5.0).ppf(0.9)  # 8
    else:
        assert abs(by_week - by_day) <= 1


def test_part_step_count_levels_jump_between_samples():
    # The whole level is the ceiling of the order statistic whose CDF first meets the target
    # (reference: sorted samples); the search stepped a unit at a time from the linear
    # quantile, 15 ms a row at 1e8 units a week, and now jumps from sample to sample.
    from kernels.policies.general import policy_from_samples

    rng = np.random.default_rng(5)
    weeks = rng.negative_binomial(1, 1 / (1 + 1e8), size=(50, 200, 2)).astype(float)
    a = weeks[:, :, 0] + 3 / 7 * weeks[:, :, 1]  # 10 days of weekly count paths
    for p in (0.5, 0.9, 0.975):
        level = policy_from_samples(a, service_level=p, counted=np.ones(50, bool))["level"]
        ref = np.ceil(np.sort(a, axis=1)[:, int(np.ceil(p * 200 - 1e-9)) - 1])
        np.testing.assert_array_equal(level, ref)


@pytest.mark.slow
def test_part_step_count_level_past_2_53_ends():
    # Past 2**53 a float holds no odd integers: k + 1.0 == k, and the unit-by-unit search
    # never ended. Run in a child so that a hang fails the test instead of the suite.
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from kernels.policies.general import policy_from_samples\n"
        "a = np.r_[0.5, 2.0**54 + 4.0 * np.arange(1, 20)][None, :]\n"
        "print(policy_from_samples(a, service_level=0.96, counted=[True])['level'][0])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    assert float(done.stdout) == 2.0**54 + 4.0 * 19  # the top sample: 19.2 of 20 needed

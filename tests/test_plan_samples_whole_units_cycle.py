"""Cycle service from whole-unit sample paths must meet its target (P(A <= level) >= alpha).

Twenty equally likely scenarios of lead-time demand 1..20 units: at a 97.5% cycle service the
smallest stock that covers 97.5% of them is 20 units (19 covers 95%). The linear sample
quantile is 19.525, which whole-unit positions hold as 19: the plan reported a 95% cycle
service for its 97.5% target.
"""

import numpy as np
import pandas as pd
import pytest

from kernels import Policy, plan
from kernels.policies import CYCLE, policy_from_samples


def _scenarios(n=20):
    # Path p sells p + 1 units on day 1 and nothing after: demand over any lead time >= 1 day.
    steps = 4
    demand = np.zeros((n, steps))
    demand[:, 0] = np.arange(1, n + 1)
    return pd.DataFrame(
        {
            "item_id": "sku",
            "location_id": "FC",
            "sample": np.repeat(np.arange(n), steps),
            "step": np.tile(np.arange(1, steps + 1), n),
            "demand": demand.ravel(),
        }
    )


@pytest.mark.parametrize("review, lot", [(0.0, 3.0), (0.0, 3.5), (2.0, 3.0)])
def test_plan_from_whole_unit_scenarios_meets_its_cycle_service(review, lot):
    inventory = pd.DataFrame(
        {"item_id": ["sku"], "location_id": ["FC"], "on_hand": [0.0], "lead_time_mean": [2.0],
         "review_period": [review], "service_type": ["cycle"], "service_level": [0.975],
         "lot_size": [lot], "case_pack": [0.5]}
    )  # fmt: skip
    row = plan(_scenarios(), inventory, Policy()).iloc[0]
    # Reference: the smallest whole stock covering >= 97.5% of the equally likely scenarios.
    values = np.arange(1, 21)
    ref = min(s for s in range(0, 25) if np.mean(values <= s) >= 0.975)
    assert ref == 20
    held = np.floor(row["reorder_point"])  # positions move in whole units
    assert np.mean(values <= held) >= 0.975
    assert row["cycle_service_level"] >= 0.975
    assert row["reorder_point"] == ref


def test_whole_unit_samples_cycle_level_is_the_smallest_whole_level_meeting_it():
    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(5, 60))
        a = rng.poisson(rng.uniform(0.3, 6.0), n).astype(float)
        p = float(rng.choice([0.6, 0.8, 0.9, 0.95, 0.975, 0.99, rng.uniform(0.5, 0.99)]))
        res = policy_from_samples(a[None], service_level=p, service_type=CYCLE)
        level = res["level"][0]
        assert np.mean(a <= np.floor(level)) >= p
        assert res["cycle_service"][0] >= p
        # Reference: the smallest sample value whose share of samples at or below it meets p
        # (a level between two whole units acts as the one below: 2.35 of [1, 2, 3, 4] at 45%
        # was planned, and ordered up to 3, where 2 meets it).
        assert level == min(x for x in a if np.mean(a <= x) >= p)


def test_continuous_samples_keep_the_linear_quantile():
    rng = np.random.default_rng(4)
    a = rng.gamma(2.0, 5.0, size=(3, 53))
    res = policy_from_samples(a, service_level=0.95, service_type=CYCLE)
    np.testing.assert_allclose(res["level"], np.quantile(a, 0.95, axis=1), rtol=1e-12)

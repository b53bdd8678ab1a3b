"""compare() on a plan with a zero-lead-time continuous row (same-day replenishment) refused
it as lacking 'the plan's demand_mean and lead_time_mean', which the plan has: such a row plans
demand over no days, so its demand_mean gives no daily rate. The error says so; with a
daily_demand column the comparison runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kernels import Policy, plan
from kernels.simulation import compare


def _tables():
    forecast = pd.DataFrame(
        {"item_id": ["a", "b"], "location_id": "F", "demand_mean": [10.0, 5.0],
         "demand_std": [3.0, 2.0]}
    )  # fmt: skip
    inventory = forecast[["item_id", "location_id"]].assign(
        on_hand=[60.0, 10.0], lead_time_mean=[4.0, 0.0], review_period=0
    )
    planned = plan(forecast, inventory, Policy(service_level=0.95))
    days = pd.date_range("2024-03-04", periods=14)
    rng = np.random.default_rng(0)
    demand = pd.DataFrame(
        {
            "item_id": np.repeat(["a", "b"], 14),
            "location_id": "F",
            "date": np.tile(days, 2),
            "demand": rng.poisson(7, 28).astype(float),
        }
    )
    return planned, demand, inventory


def test_a_zero_lead_time_row_is_named_for_what_it_lacks():
    planned, demand, inventory = _tables()
    assert planned.loc[1, "demand_mean"] == 0.0  # demand over no days
    with pytest.raises(ValueError, match=r"lead_time_mean \+ review period 0.*\(b, F\)"):
        compare(planned, demand, inventory=inventory)


def test_with_a_daily_demand_column_it_compares():
    planned, demand, inventory = _tables()
    result = compare(planned, demand, inventory=inventory.assign(daily_demand=[10.0, 5.0]))
    assert len(result.rule.metrics) == 2

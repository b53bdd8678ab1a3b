"""The order of the lead-time records does not change a plan or a simulation.

A key's lead-time records are a set of observations, but the bootstrap (each sample path's lead
time in ``plan``, each order's in ``simulate``) picked them by their position in the table: the
same records exported in another row order (by order date, by key, or unordered from a query)
moved a sample-path reorder point by 8% (101.25 -> 109.05) with the seed fixed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kernels import Policy, plan
from kernels.simulation import simulate

ITEMS = [f"s{i}" for i in range(4)]


def _tables():
    rng = np.random.default_rng(1)
    rows = []
    for item in ITEMS:
        demand = rng.poisson(rng.uniform(2, 8), (100, 40))
        rows += [
            (item, "FC1", p, h + 1, float(demand[p, h])) for p in range(100) for h in range(40)
        ]
    forecast = pd.DataFrame(rows, columns=["item_id", "location_id", "sample", "step", "demand"])
    inventory = pd.DataFrame({"item_id": ITEMS, "location_id": "FC1", "on_hand": 20.0})
    records = [(i, "FC1", float(x)) for i in ITEMS for x in rng.choice([2, 3, 5, 8, 13], 6)]
    lead_times = pd.DataFrame(records, columns=["item_id", "location_id", "lead_time_days"])
    return forecast, inventory, lead_times


def test_sample_path_plan_ignores_the_order_of_the_lead_time_records():
    forecast, inventory, lead_times = _tables()
    base = plan(forecast, inventory, Policy(service_level=0.95), lead_times=lead_times)
    for seed in range(3):
        shuffled = lead_times.sample(frac=1, random_state=seed)
        again = plan(forecast, inventory, Policy(service_level=0.95), lead_times=shuffled)
        for column in ("safety_stock", "reorder_point", "order_qty", "expected_fill_rate"):
            np.testing.assert_allclose(again[column], base[column], rtol=1e-12, atol=1e-12)


def test_simulation_ignores_the_order_of_the_lead_time_records():
    forecast, inventory, lead_times = _tables()
    planned = plan(forecast, inventory, lead_times=lead_times)
    rng = np.random.default_rng(2)
    days = pd.date_range("2024-03-04", periods=60)
    demand = pd.DataFrame(
        {
            "item_id": np.repeat(ITEMS, len(days)),
            "location_id": "FC1",
            "date": np.tile(days, len(ITEMS)),
            "demand": rng.poisson(5, len(ITEMS) * len(days)).astype(float),
        }
    )
    base = simulate(planned, demand, lead_times, inventory=inventory).metrics
    for seed in range(3):
        shuffled = lead_times.sample(frac=1, random_state=seed)
        again = simulate(planned, demand, shuffled, inventory=inventory).metrics
        pd.testing.assert_frame_equal(again, base)

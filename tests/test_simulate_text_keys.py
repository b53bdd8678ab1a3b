"""simulate() matches the demand and inventory tables to the plan on the keys' text, as plan()
matches its tables: a plan written by `stockcast plan` holds item "7", a demand history read
with pandas the number 7; every row was refused ('no demand for the plan row (7, 1)')."""

import numpy as np
import pandas as pd
import pytest

from kernels import Policy, plan
from kernels.simulation import simulate


def _tables():
    fc = pd.DataFrame({"item_id": ["7", "8"], "location_id": "1", "demand_mean": [10.0, 4.0],
                       "demand_std": [3.0, 2.0]})  # fmt: skip
    inventory = fc[["item_id", "location_id"]].assign(on_hand=[20.0, 60.0], lead_time_mean=4.0)
    planned = plan(fc, inventory, Policy(service_level=0.95))
    rng = np.random.default_rng(0)
    days = pd.date_range("2024-01-01", periods=30)
    demand = pd.DataFrame(
        [("7" if i == 7 else "8", "1", d, rng.poisson(m)) for i, m in ((7, 10), (8, 4))
         for d in days],
        columns=["item_id", "location_id", "date", "demand"],
    )  # fmt: skip
    return planned, inventory, demand


def test_numeric_demand_keys_match_a_plans_text_keys():
    planned, _, demand = _tables()
    expected = simulate(planned, demand).metrics
    numeric = demand.astype({"item_id": np.int64, "location_id": np.int64})
    got = simulate(planned, numeric).metrics
    pd.testing.assert_frame_equal(got, expected)
    floats = demand.astype({"item_id": np.float64, "location_id": np.float64})
    pd.testing.assert_frame_equal(simulate(planned, floats).metrics, expected)


def test_numeric_inventory_keys_match_a_plans_text_keys():
    planned, inventory, demand = _tables()
    expected = simulate(planned, demand, inventory=inventory).metrics
    numeric = inventory.assign(item_id=[7, 8], location_id=1)
    got = simulate(planned, demand, inventory=numeric).metrics
    pd.testing.assert_frame_equal(got, expected)
    assert got["served"].sum() < got["demand"].sum()  # the inventory's 20 units, not S


def test_keys_spelled_the_same_as_text_are_one_key():
    planned, inventory, demand = _tables()
    twice = pd.concat([inventory, inventory.iloc[[0]].assign(item_id=7)])
    with pytest.raises(ValueError, match="inventory: duplicate"):
        simulate(planned, demand, inventory=twice)

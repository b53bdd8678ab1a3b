"""simulate / compare: ``lost_sales`` given as text ("false", "no") was truthy, so demand the
caller wanted backordered was lost (other fill rate, on hand and orders); a seed of -1, 1.5 or
a text stopped inside NumPy without naming the argument, and true read as seed 1."""

import numpy as np
import pandas as pd
import pytest

from kernels import Policy, plan
from kernels.simulation import compare, simulate


@pytest.fixture(scope="module")
def case():
    forecast = pd.DataFrame(
        {"item_id": ["sku1"], "location_id": "FC1", "demand_mean": [10.0], "demand_std": [3.0]}
    )
    inventory = forecast[["item_id", "location_id"]].assign(
        on_hand=[0.0], lead_time_mean=4.0, lead_time_std=1.5
    )
    planned = plan(forecast, inventory, Policy(service_level=0.95))
    demand = pd.DataFrame(
        {"item_id": "sku1", "location_id": "FC1", "day": np.arange(28),
         "demand": np.tile([8, 12, 10, 9, 14, 7, 10.0], 4)}
    )  # fmt: skip
    return planned, demand, inventory


@pytest.mark.parametrize("value", ["false", "no", None, 0, 1])
def test_lost_sales_must_be_a_bool(case, value):
    planned, demand, inventory = case
    with pytest.raises(ValueError, match="lost_sales"):
        simulate(planned, demand, inventory=inventory, lost_sales=value)
    with pytest.raises(ValueError, match="lost_sales"):
        compare(planned, demand, inventory=inventory, lost_sales=value)


@pytest.mark.parametrize("seed", [-1, 1.5, float("nan"), "3", True])
def test_seed_must_be_a_whole_number(case, seed):
    planned, demand, inventory = case
    with pytest.raises(ValueError, match="seed"):
        simulate(planned, demand, inventory=inventory, seed=seed)


def test_bools_and_whole_seeds_still_run(case):
    planned, demand, inventory = case
    lost = simulate(planned, demand, inventory=inventory, lost_sales=np.bool_(True), seed=3)
    kept = simulate(planned, demand, inventory=inventory, lost_sales=False, seed=np.int64(3))
    assert lost.lost_sales and not kept.lost_sales
    # starting empty: 53 units backordered at most when kept; none (lost) otherwise
    assert kept.paths["backorders"].max() > 0 == lost.paths["backorders"].max()
    # backordered demand is served from later stock, lost demand never: never more on hand
    assert kept.metrics["avg_on_hand"].iat[0] <= lost.metrics["avg_on_hand"].iat[0]

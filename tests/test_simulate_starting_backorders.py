"""Backorders in the inventory are units owed at the start of a simulation: the plan's position
subtracts them, and the simulation must too (they vanished: the day-0 review saw a position 30
units too high and the owed units were never filled)."""

import numpy as np
import pandas as pd

from kernels import Policy, plan
from kernels.simulation import simulate


def _setup():
    forecast = pd.DataFrame(
        {"item_id": ["a"], "location_id": "FC1", "demand_mean": [10.0], "demand_std": [3.0]}
    )
    inventory = forecast[["item_id", "location_id"]].assign(
        on_hand=20.0, backorders=30.0, lead_time_mean=2.0, review_period=7
    )
    p = plan(forecast, inventory, Policy(service_level=0.95))
    demand = pd.DataFrame(
        {"item_id": "a", "location_id": "FC1", "day": np.arange(14), "demand": 10.0}
    )
    return p, inventory, demand


def _ledger(result, on_hand, backorders, lost_sales):
    """Net stock by hand: start - owed + receipts - (served or demanded), every day."""
    paths = result.paths
    net = on_hand - backorders
    for t in range(paths["demand"].shape[1]):
        net += paths["received"][0, t]
        net -= paths["served"][0, t] if lost_sales else paths["demand"][0, t]
        assert np.isclose(max(net, 0.0), paths["on_hand"][0, t]), t
        if not lost_sales:
            assert np.isclose(max(-net, 0.0), paths["backorders"][0, t]), t


def test_starting_backorders_are_owed():
    p, inventory, demand = _setup()
    result = simulate(p, demand, inventory=inventory, lost_sales=False)
    paths = result.paths
    # The 20 units on hand fill 20 of the 30 owed; day 0's 10 units join the 10 still owed.
    assert paths["served"][0, 0] == 0.0
    assert paths["backorders"][0, 0] == 20.0
    # The day-0 review orders up to S from the position 20 - 30 - 10 = -20, as plan() counts it.
    up_to = float(p["order_up_to"].iloc[0])
    assert paths["ordered"][0, 0] == np.ceil(up_to - (-20.0) - 1e-9)
    _ledger(result, 20.0, 30.0, lost_sales=False)


def test_starting_backorders_filled_first_with_lost_sales():
    p, inventory, demand = _setup()
    result = simulate(p, demand, inventory=inventory, lost_sales=True)
    assert result.paths["served"][0, 0] == 0.0  # the stock went to the customers owed
    _ledger(result, 20.0, 30.0, lost_sales=True)


def test_negative_backorders_refused():
    p, inventory, demand = _setup()
    try:
        simulate(p, demand, inventory=inventory.assign(backorders=-1.0))
    except ValueError as exc:
        assert "backorders" in str(exc)
    else:
        raise AssertionError("negative backorders were accepted")

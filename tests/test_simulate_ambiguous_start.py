"""A simulation's ``start`` written as two numbers of 12 or less and a year (``03/05/2024``)
is refused: pandas read a lone date month first, so a day-first 3 May started a simulation
over March to May on 5 March, its metrics over 88 days instead of 29, without a word."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kernels import Policy, plan
from kernels.simulation import simulate

FORECAST = pd.DataFrame({"item_id": ["sku1"], "location_id": "FC1", "demand_mean": [10.0],
                         "demand_std": [3.0]})  # fmt: skip
INVENTORY = FORECAST[["item_id", "location_id"]].assign(
    on_hand=[60.0], lead_time_mean=4.0, review_period=[0]
)


def run(start):
    days = pd.date_range("2024-03-01", "2024-05-31")
    sales = np.resize([8, 12, 10, 9, 14, 7, 10.0], len(days))
    demand = pd.DataFrame({"item_id": "sku1", "location_id": "FC1", "date": days, "demand": sales})
    p = plan(FORECAST, INVENTORY, Policy(service_level=0.95))
    return simulate(p, demand, inventory=INVENTORY, start=start)


@pytest.mark.parametrize("start", ["03/05/2024", "05/03/2024", "3.5.24"])
def test_ambiguous_start_refused(start):
    with pytest.raises(ValueError, match="start: ambiguous date"):
        run(start)


@pytest.mark.parametrize(
    ("start", "first"),
    [("2024-05-03", "2024-05-03"), ("13/03/2024", "2024-03-13"), ("03/13/2024", "2024-03-13"),
     ("05/05/2024", "2024-05-05"), (pd.Timestamp("2024-05-03"), "2024-05-03")],
)  # fmt: skip
def test_unambiguous_start_read(start, first):
    assert run(start).days[0] == pd.Timestamp(first)

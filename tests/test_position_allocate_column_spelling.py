"""A column of position()'s or allocate()'s tables spelled like one they read but for spaces or
case (a spreadsheet's ``"Service Time"``, ``"inbound_service "``, ``Reserve``, ``Cap``) is refused,
as plan()'s inventory columns are: unread, an FC's 6-day promise planned as 0 (the DC quoted 0
days and both FCs held safety stock they need not) and a DC's reserve of 6 units went out to
the FCs."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kernels import allocate, position


def _network(fc_promise="service_time", dc_inbound="inbound_service"):
    fc = pd.DataFrame(
        {
            "item_id": ["a", "a"],
            "location_id": ["F1", "F2"],
            "demand_mean": [10.0, 10.0],
            "demand_std": [4.0, 4.0],
            "lead_time": [2.0, 2.0],
            "service_level": [0.95, 0.95],
            "holding_cost": [1.0, 1.0],
            fc_promise: [6.0, 6.0],
        }
    )
    dc = pd.DataFrame(
        {
            "item_id": ["a"],
            "lead_time": [10.0],
            "service_level": [0.95],
            "holding_cost": [0.9],
            dc_inbound: [5.0],
        }
    )
    return fc, dc


def test_position_reads_the_promise_and_the_inbound_service():
    dc_plan, fc_plan = position(*_network())
    # Hand reference: SI + T = 15; each FC's kink is 6 - 2 = 4. At S = 4 both FCs hold nothing
    # and the DC covers 11 days: 0.9 z sqrt(32) sqrt(11) = 27.77; at S = 0 the DC covers 15 days
    # and each FC 2 (45.09); at S = 15 the FCs cover 11 days each (52.8).
    z = stats.norm.ppf(0.95)
    assert dc_plan["dc_service_time"].iloc[0] == 4.0
    assert dc_plan["cost"].iloc[0] == pytest.approx(0.9 * z * np.sqrt(32.0) * np.sqrt(11.0))
    np.testing.assert_array_equal(fc_plan["safety_stock"], [0.0, 0.0])


@pytest.mark.parametrize(
    "fc_col, dc_col, table, meant",
    [
        ("Service Time", "inbound_service", "fc", "service_time"),
        ("service_time ", "inbound_service", "fc", "service_time"),
        ("service_time", "inbound_service ", "dc", "inbound_service"),
        ("service_time", "Inbound-Service", "dc", "inbound_service"),
    ],
)
def test_position_refuses_a_column_spelled_otherwise(fc_col, dc_col, table, meant):
    with pytest.raises(ValueError, match=f"{table}: column .* spelled like '{meant}'"):
        position(*_network(fc_col, dc_col))


def _allocate(cap="cap", reserve="reserve"):
    demand = pd.DataFrame(
        {
            "item_id": "s",
            "location_id": ["F1", "F1", "F2", "F2"],
            "sample": [0, 1, 0, 1],
            "demand": [5.0, 7.0, 5.0, 7.0],
        }
    )
    stock = pd.DataFrame({"item_id": "s", "location_id": ["F1", "F2"], "on_hand": 0.0, cap: 1.0})
    supply = pd.DataFrame({"item_id": ["s"], "supply": [10], reserve: [6]})
    return allocate(demand, stock, supply)


def test_allocate_reads_caps_and_reserve():
    # 10 units less a reserve of 6 leave 4; each FC may take 1.
    np.testing.assert_array_equal(_allocate()["allocation"], [1, 1])


@pytest.mark.parametrize(
    "cap, reserve, table, meant",
    [("Cap", "reserve", "stock", "cap"), ("cap", "Reserve", "supply", "reserve")],
)
def test_allocate_refuses_a_column_spelled_otherwise(cap, reserve, table, meant):
    with pytest.raises(ValueError, match=f"{table}: column .* spelled like '{meant}'"):
        _allocate(cap, reserve)

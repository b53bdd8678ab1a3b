"""An inventory position that is the reorder point (or S) in decimals but off it by float
residue: on hand 0.1 + on order 2.2 - backorders 0.3 is 2.0000000000000004, and plan skipped the
(r, Q) order due at r = 2 (a row with the position 2.0 exactly ordered); 0.3 + 2.3 - 0.6 is
1.9999999999999996, and an (R, S) row at S = 2 ordered a lone MOQ. simulate() read such
positions as on the level; plan now does too."""

import numpy as np
import pandas as pd
import pytest

from kernels import Policy, plan
from kernels._simulate import order_quantity
from kernels.config import RULE_RQ, RULE_RS
from kernels.policies.orders import order_quantities


def test_rq_position_a_residue_above_r_minus_k_lots_orders_k_plus_one_lots():
    ip = np.array([0.1 + 2.2 - 0.3, 2.0, 0.1 + 2.2 - 0.3 - 20.0, 2.5])
    got = order_quantities(ip, rule="rQ", reorder_point=2.0, lot_size=10.0)
    np.testing.assert_array_equal(got, [10.0, 10.0, 30.0, 0.0])
    assert [order_quantity(RULE_RQ, 2.0, np.nan, 10.0, x, 1.0, 0.0) for x in ip] == list(got)


def test_rs_position_a_residue_under_s_orders_nothing_not_the_moq():
    ip = np.array([0.3 + 2.3 - 0.6, 2.0, 0.7 - 0.4, 1.0])
    s = np.array([2.0, 2.0, 0.3, 2.0])
    got = order_quantities(ip, rule="RS", order_up_to=s, moq=10.0)
    np.testing.assert_array_equal(got, [0.0, 0.0, 0.0, 10.0])
    got = order_quantities(ip, rule="RS", order_up_to=s)
    assert not np.signbit(got).any()  # a need within the rounding's 1e-9 was -0.0
    assert [order_quantity(RULE_RS, np.nan, s[i], 1.0, ip[i], 1.0, 10.0) for i in range(4)] == [
        0.0,
        0.0,
        0.0,
        10.0,
    ]


@pytest.mark.slow
def test_plan_orders_the_same_for_a_position_with_float_residue():
    # Every path sells 1 unit a day and the lead time is 2 days: r = 2 exactly.
    paths = pd.DataFrame({"sample": [0, 0, 0, 1, 1, 1], "step": [1, 2, 3] * 2, "demand": 1.0})
    fc = pd.concat([paths.assign(item_id="a", location_id=loc) for loc in ("FC1", "FC2")])
    inv = pd.DataFrame(
        {"item_id": "a", "location_id": ["FC1", "FC2"], "on_hand": [0.1, 2.0],
         "on_order": [2.2, 0.0], "backorders": [0.3, 0.0], "lead_time_mean": 2.0,
         "lead_time_std": 0.0, "lot_size": 10.0}
    )  # fmt: skip
    p = plan(fc, inv, Policy(service_level=0.9))
    np.testing.assert_array_equal(p["reorder_point"], [2.0, 2.0])
    np.testing.assert_array_equal(p["order_qty"], [10.0, 10.0])
    inv = inv.assign(on_hand=[0.3, 2.0], on_order=[2.3, 0.0], backorders=[0.6, 0.0],
                     lead_time_mean=1.0, review_period=1.0, moq=10.0)  # fmt: skip
    p = plan(fc, inv.drop(columns="lot_size"), Policy(service_level=0.9))
    np.testing.assert_array_equal(p["order_up_to"], [2.0, 2.0])
    np.testing.assert_array_equal(p["order_qty"], [0.0, 0.0])

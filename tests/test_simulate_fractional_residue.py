"""Fractional demand (kg) leaves float residue in the running stock: 0.7 on hand less 0.4 sold
is 0.29999999999999993, and selling the last 0.3 counted a stockout day (fill rate 1.0 beside
1 stockout day, 6e-17 unmet drawn as a stockout marker) though every unit was served."""

import numpy as np
import pandas as pd

from kernels.simulation import simulate


def _run(demand, on_hand, lost_sales):
    p = pd.DataFrame(
        {
            "item_id": ["a"],
            "location_id": "FC1",
            "review": "periodic",
            "review_period": [7],
            "order_up_to": [0.0],
            "lead_time_mean": [3.0],
        }
    )
    days = np.arange(len(demand))
    table = pd.DataFrame({"item_id": "a", "location_id": "FC1", "day": days, "demand": demand})
    return simulate(p, table, on_hand=on_hand, lost_sales=lost_sales)


def test_stock_sold_out_exactly_is_no_stockout():
    for lost_sales in (True, False):
        r = _run([0.4, 0.3, 0.0], 0.7, lost_sales)
        m = r.metrics.iloc[0]
        assert m["fill_rate"] == 1.0
        assert m["stockout_days"] == 0
        assert (r.paths["unmet"][0] == 0.0).all()
        assert m["empty_days"] == 2  # days 1 and 2 end with nothing on hand
        if not lost_sales:
            assert (r.paths["backorders"][0] == 0.0).all()


def test_residue_above_demand_leaves_an_empty_shelf():
    # 0.1 + 0.2 on hand is 0.30000000000000004: selling 0.3 empties the shelf.
    r = _run([0.0, 0.3, 0.0], 0.1 + 0.2, True)
    assert r.metrics["empty_days"].iloc[0] == 2
    assert r.paths["on_hand"][0, 1] == 0.0


def test_a_real_shortfall_is_still_a_stockout():
    r = _run([0.4, 0.31], 0.7, True)
    assert r.metrics["stockout_days"].iloc[0] == 1
    assert np.isclose(r.paths["unmet"][0, 1], 0.01)


def _plan_row(**row):
    base = {"item_id": ["a"], "location_id": "FC1", "lead_time_mean": [0.0]}
    return pd.DataFrame({**base, **{k: [v] for k, v in row.items()}})


def _simulate(p, demand, on_hand, lost_sales=True):
    days = np.arange(len(demand))
    table = pd.DataFrame({"item_id": "a", "location_id": "FC1", "day": days, "demand": demand})
    return simulate(p, table, on_hand=on_hand, lost_sales=lost_sales)


def test_position_on_the_reorder_point_orders():
    # 3.7 - 0.4 - 0.3 is 3.0000000000000004: at r = 3 the (r, Q) order is due on day 1.
    p = _plan_row(review="continuous", reorder_point=3.0, lot_size=5.0)
    r = _simulate(p, [0.4, 0.3, 0.0], 3.7)
    assert r.paths["ordered"][0].tolist() == [0.0, 5.0, 0.0]


def test_position_whole_lots_below_the_reorder_point():
    # 1.1 on hand, 4.1 demanded and backordered: position -3 (-2.9999999999999996), and
    # -3 + 3 x 2 = 3 is not above r = 3: four lots, not three.
    p = _plan_row(review="continuous", reorder_point=3.0, lot_size=2.0)
    r = _simulate(p, [4.1, 0.0], 1.1, lost_sales=False)
    assert r.paths["ordered"][0, 0] == 8.0


def test_position_at_the_order_up_to_level_orders_no_moq():
    # 0.7 - 0.4 is 0.29999999999999993: at S = 0.3 nothing is due, not the 10-unit MOQ.
    p = _plan_row(review="periodic", review_period=1, order_up_to=0.3, moq=10.0)
    r = _simulate(p, [0.4, 0.0], 0.7)
    assert r.paths["ordered"][0].tolist() == [0.0, 0.0]

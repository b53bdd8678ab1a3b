"""allocate and position match keys as text, as plan() does: a forecast's item "7" (text, as
every forecast table holds it) is the stock's, supply's or DC table's 7 read as a number."""

import pandas as pd
import pytest

from kernels import allocate, position


def _demand():
    # Every sample the same: FC1 sells 5, FC2 sells 1 (by hand, 6 units go 5 and 1).
    return pd.DataFrame({
        "item_id": ["7"] * 6, "location_id": ["FC1"] * 3 + ["FC2"] * 3,
        "sample": [0, 1, 2] * 2, "demand": [5.0] * 3 + [1.0] * 3,
    })  # fmt: skip


@pytest.mark.parametrize("stock_item, supply_item", [(7, "7"), ("7", 7), (7, 7)])
def test_allocate_numeric_ids_beside_a_forecasts_text(stock_item, supply_item):
    stock = pd.DataFrame(
        {"item_id": [stock_item] * 2, "location_id": ["FC1", "FC2"], "on_hand": [0.0, 0.0]}
    )
    supply = pd.DataFrame({"item_id": [supply_item], "supply": [6]})
    out = allocate(_demand(), stock, supply)
    assert out["allocation"].tolist() == [5, 1]
    assert out["expected_sales"].tolist() == pytest.approx([5.0, 1.0])
    assert out["item_id"].tolist() == [stock_item] * 2  # the stock's own keys come back


def test_position_dc_item_read_as_a_number():
    fc = pd.DataFrame({
        "item_id": ["7", "7"], "location_id": ["FC1", "FC2"], "demand_mean": [5.0, 3.0],
        "demand_std": [2.0, 1.0], "lead_time": [2.0, 3.0], "service_level": 0.95,
        "holding_cost": 1.0,
    })  # fmt: skip
    dc = pd.DataFrame(
        {"item_id": ["7"], "lead_time": [10.0], "service_level": [0.95], "holding_cost": [0.5]}
    )
    dc_text, fc_text = position(fc, dc)
    dc_number, fc_number = position(fc, dc.assign(item_id=[7]))
    columns = ["dc_service_time", "dc_safety_stock", "dc_base_stock", "cost"]
    pd.testing.assert_frame_equal(dc_number[columns], dc_text[columns])
    pd.testing.assert_frame_equal(fc_number, fc_text)

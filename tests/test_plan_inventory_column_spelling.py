"""An inventory column spelled like one plan() reads but for spaces or case (a spreadsheet's
quoted ``"on_order "``, ``On_Order``, ``On Order``) is refused: unread, the 60 units on order
were left out without a word and the plan ordered 135 units where 75 top the position up."""

import pandas as pd
import pytest

from kernels import Policy, plan
from kernels.io import read_table


def _plan(tmp_path, column: str):
    path = tmp_path / "inventory.csv"
    path.write_text(
        f'item_id,location_id,on_hand,lead_time_mean,lead_time_std,review_period,"{column}"\n'
        "A,FC1,5,7,0,7,60\n"
    )
    inventory = read_table(path, text=("item_id", "location_id", "segment"))
    forecast = pd.DataFrame(
        {"item_id": ["A"], "location_id": ["FC1"], "demand_mean": [10.0], "demand_std": [0.0]}
    )
    return plan(forecast, inventory, Policy(service_level=0.9))


def test_on_order_counts(tmp_path):
    result = _plan(tmp_path, "on_order")
    # Hand reference: order up to 10 units x (7 lead + 7 review) days = 140; position 5 + 60.
    assert result["order_up_to"].iloc[0] == pytest.approx(140.0)
    assert result["inventory_position"].iloc[0] == pytest.approx(65.0)
    assert result["order_qty"].iloc[0] == pytest.approx(75.0)


@pytest.mark.parametrize("column", ["on_order ", " on_order", "On_Order", "On Order", "ON-ORDER"])
def test_a_column_spelled_otherwise_is_refused(tmp_path, column):
    with pytest.raises(ValueError, match="inventory: column .* spelled like 'on_order'"):
        _plan(tmp_path, column)

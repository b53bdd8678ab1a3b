"""Numeric inventory, forecast and inspection cells given as true/false are refused by name.

pandas reads a CSV column of true/false as booleans; taken as 1/0, an inventory whose
review_period column says true (a "yes, reviewed periodically" flag) was planned as a 1-day
periodic review, a case_pack of TRUE as one unit, rejected_units True as one held unit.
"""

import numpy as np
import pandas as pd
import pytest

from kernels import Policy, plan
from kernels.io import read_table

FORECAST = pd.DataFrame(
    {"item_id": ["1", "2"], "location_id": "FC1", "demand_mean": [10.0, 4.0],
     "demand_std": [3.0, 2.0]}
)  # fmt: skip


def _inventory(tmp_path, column, cells):
    path = tmp_path / "inv.csv"
    path.write_text(
        f"item_id,location_id,on_hand,lead_time_mean,{column}\n"
        f"1,FC1,20,4,{cells[0]}\n2,FC1,60,4,{cells[1]}\n"
    )
    return read_table(path, text=("item_id", "location_id", "segment"))


@pytest.mark.parametrize(
    "column,cells",
    [("review_period", ("true", "false")), ("case_pack", ("TRUE", "TRUE")),
     ("on_order", ("True", "False")), ("moq", ("true", "true"))],
)  # fmt: skip
def test_true_false_cells_are_not_numbers(tmp_path, column, cells):
    inventory = _inventory(tmp_path, column, cells)
    assert inventory[column].dtype == bool  # what pandas makes of them
    with pytest.raises(ValueError, match=rf"{column}: not a number at key"):
        plan(FORECAST, inventory, Policy(service_level=0.95))


def test_boolean_objects_among_numbers_are_refused():
    # a JSON request's rows: {"review_period": true} beside numbers
    inventory = pd.DataFrame.from_records(
        [{"item_id": "1", "location_id": "FC1", "on_hand": 20.0, "lead_time_mean": 4.0,
          "review_period": True},
         {"item_id": "2", "location_id": "FC1", "on_hand": 60.0, "lead_time_mean": 4.0,
          "review_period": 7}]
    )  # fmt: skip
    with pytest.raises(ValueError, match=r"review_period: not a number at key \(1, FC1\)"):
        plan(FORECAST, inventory)


def test_rejected_units_true_is_refused():
    inventory = FORECAST[["item_id", "location_id"]].assign(on_hand=[20.0, 60.0],
                                                             lead_time_mean=4.0)  # fmt: skip
    rejected = pd.DataFrame({"item_id": ["1"], "location_id": ["FC1"], "rejected_units": [True]})
    with pytest.raises(ValueError, match=r"rejected_units: not a number"):
        plan(FORECAST, inventory, rejected=rejected)


def test_lead_time_days_and_forecast_values_true_are_refused():
    inventory = FORECAST[["item_id", "location_id"]].assign(on_hand=[20.0, 60.0])
    records = pd.DataFrame({"item_id": ["1", "2"], "location_id": "FC1",
                            "lead_time_days": [True, True]})  # fmt: skip
    with pytest.raises(ValueError, match=r"lead_time_days: missing, non-numeric"):
        plan(FORECAST, inventory, lead_times=records)
    cum = pd.DataFrame(
        {
            "item_id": "1",
            "location_id": "FC1",
            "horizon": [1, 2],
            "q0.5": [True, 2.0],
            "q0.9": [2.0, 3.0],
        }
    ).astype({"q0.5": object})
    inv = pd.DataFrame({"item_id": ["1"], "location_id": ["FC1"], "on_hand": [1.0],
                        "lead_time_mean": [1.0]})  # fmt: skip
    with pytest.raises(ValueError, match=r"forecast quantiles: missing or non-numeric"):
        plan(cum, inv)


def test_numbers_still_plan():
    inventory = FORECAST[["item_id", "location_id"]].assign(
        on_hand=[20, 60], lead_time_mean=4, review_period=[0, 7], case_pack=np.int64(1)
    )
    result = plan(FORECAST, inventory, Policy(service_level=0.95))
    assert list(result["review"]) == ["continuous", "periodic"]

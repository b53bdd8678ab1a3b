"""Lead-time records whose keys match no inventory row but read like a row left without records
are refused: a key spelled another way (a trailing space, another case, '001' for '1') left the
row on the inventory's lead_time_mean (4 days planned where the records said 20-22: a reorder
point of 49.9 instead of 242.4) without a word. Records of other keys beside a new item's row
(a network-wide table) still plan."""

import pandas as pd
import pytest

from kernels import Policy, plan

FORECAST = pd.DataFrame(
    {"item_id": ["1", "2"], "location_id": "FC1", "demand_mean": [10.0, 4.0],
     "demand_std": [3.0, 2.0]}
)  # fmt: skip
INVENTORY = FORECAST[["item_id", "location_id"]].assign(on_hand=[20.0, 60.0], lead_time_mean=4.0)


def _records(item, location):
    return pd.DataFrame({"item_id": item, "location_id": location,
                         "lead_time_days": [20.0, 22.0, 21.0]})  # fmt: skip


@pytest.mark.parametrize(
    "item,location",
    [(["1", "1", "2"], "FC1 "), (["1", "1", "2"], "fc1"), (["001", "001", "002"], "FC1")],
)
def test_records_of_misspelled_keys_are_refused(item, location):
    with pytest.raises(ValueError, match=r"2 key\(s\) match no row but are spelled like"):
        plan(FORECAST, INVENTORY, Policy(service_level=0.95), lead_times=_records(item, location))


def test_records_of_matching_keys_replace_the_inventory_mean():
    # 1 and 1.0 are the text "1", as the forecast's keys are
    for item in (["1", "1", "2"], [1, 1, 2], [1.0, 1.0, 2.0]):
        result = plan(FORECAST, INVENTORY, Policy(service_level=0.95),
                      lead_times=_records(item, "FC1"))  # fmt: skip
        assert result["lead_time_mean"].tolist() == [21.0, 21.0]


def test_records_of_other_keys_are_fine_when_every_row_has_its_own():
    records = pd.concat([_records(["1", "1", "2"], "FC1"), _records(["9", "9", "9"], "FC7")])
    result = plan(FORECAST, INVENTORY, Policy(service_level=0.95), lead_times=records)
    assert result["lead_time_mean"].tolist() == [21.0, 21.0]


def test_a_blank_key_is_refused():
    records = _records(["1", "1", "2"], "FC1")
    records.loc[2, "location_id"] = None
    with pytest.raises(ValueError, match=r"1 record key\(s\) have a blank item_id or location"):
        plan(FORECAST, INVENTORY, lead_times=records)


def test_records_of_other_keys_beside_a_new_items_row_plan_it_from_the_inventory():
    records = pd.concat([_records(["1", "1", "1"], "FC1"), _records(["9", "9", "9"], "FC7")])
    result = plan(FORECAST, INVENTORY, Policy(service_level=0.95), lead_times=records)
    assert result["lead_time_mean"].tolist() == [21.0, 4.0]

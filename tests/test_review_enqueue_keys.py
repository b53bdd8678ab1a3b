"""``ReviewStore.enqueue`` keys a unit as every other table does, and refuses one without keys.

Hand case: a scored table whose integer columns a missing cell made float (its review rows
picked out keep the float dtype) queues unit 7 of SKU 42 at FC 3. Queued as ``str(7.0)``, the
database held unit "7.0" of SKU "42.0" at "3.0": the batch's unit 7 and the database's were
two units (two held, one unit), and ``plan --review-db`` matched SKU "42.0" to no inventory
row. And a unit with no item_id was queued as "nan": a second one at the same SKU and FC was
"already queued" and dropped without a word (2 held where 3 units wait).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from serving.review import ReviewError, ReviewStore, inspection_holds


def test_float_keys_are_queued_as_the_text_other_tables_hold(tmp_path):
    scored = pd.DataFrame(
        {"item_id": [7.0, 8.0, np.nan], "sku": [42.0, 42.0, np.nan],
         "location_id": [3.0, 3.0, np.nan], "reasons": "", "score_damage": 0.4,
         "verdict": ["review", "pass", "pass"]}
    )  # fmt: skip
    store = ReviewStore(tmp_path / "review.db")
    assert store.enqueue(scored[scored["verdict"] == "review"], {}) == 1
    assert store.units()[["item_id", "sku", "location_id"]].values.tolist() == [["7", "42", "3"]]
    assert store.stock_adjustments().to_dict("records") == [
        {"item_id": "42", "location_id": "3", "review_units": 1, "rejected_units": 0}
    ]
    batch = pd.DataFrame(
        {"item_id": [7, 8], "sku": [42, 42], "location_id": [3, 3], "verdict": ["review", "pass"]}
    )
    # one unit waiting, held once (before: held at (42, 3) and again at (42.0, 3.0))
    assert inspection_holds(batch, store, "sku", hold_review=True).to_dict("records") == [
        {"item_id": "42", "location_id": "3", "rejected_units": 0, "review_units": 1}
    ]


@pytest.mark.parametrize("column", ["item_id", "sku", "location_id"])
def test_a_unit_without_its_keys_is_refused_and_nothing_is_queued(tmp_path, column):
    store = ReviewStore(tmp_path / "review.db")
    items = pd.DataFrame(
        {"item_id": ["u1", "u2", "u3"], "sku": "S1", "location_id": "F1", "reasons": ""}
    )
    items.loc[1, column] = np.nan
    items.loc[2, column] = " "
    with pytest.raises(ReviewError, match=rf"^{column}: missing for 2 unit\(s\) \(rows \[1, 2\]\)"):
        store.enqueue(items, {})
    assert store.units().empty


def test_a_unit_queued_by_the_old_keys_is_not_queued_again(tmp_path):
    # A database written before the fix holds unit 7.0 as "7.0" of SKU "42.0", and unit "a1" of
    # SKU "42.0". The same batch queued again added unit "7" beside "7.0" (one unit held and
    # reviewed twice: 2 units waiting where 1 does), and refused "a1" as another unit (SKU "42"
    # against "42.0").
    store = ReviewStore(tmp_path / "review.db")
    old = pd.DataFrame({"item_id": ["7.0", "a1"], "sku": "42.0", "location_id": "3", "reasons": ""})
    assert store.enqueue(old, {}) == 2
    again = pd.DataFrame({"item_id": [7.0, np.nan], "sku": [42.0, 42.0], "location_id": "3",
                          "reasons": ""}).astype({"item_id": object})  # fmt: skip
    again.loc[1, "item_id"] = "a1"
    assert store.enqueue(again, {}) == 0
    assert store.units()["item_id"].tolist() == ["7.0", "a1"]
    assert store.stock_adjustments()["review_units"].tolist() == [2]

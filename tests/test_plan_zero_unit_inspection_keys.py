"""A plan of part of the network takes the counts of a whole inspection batch.

``stockcast inspect rejected`` writes a row for every SKU x FC inspected, units that all passed
included, and the review queue keeps a row for every SKU x FC it ever held. Planning one FC
with those tables was refused ("no inventory row for the inspected item") for keys of other
FCs that hold no units at all, so the plans of two FCs could not be made one FC at a time. A
key without an inventory row that does hold units is still refused.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kernels import plan
from serving.cli import main
from serving.review import ReviewStore
from vision.tables import rejected_units

KEYS = pd.DataFrame({"item_id": ["A", "A", "B", "B"], "location_id": ["FC1", "FC2"] * 2})
FORECAST = KEYS.assign(demand_mean=[5.0, 3.0, 4.0, 2.0], demand_std=[2.0, 1.0, 2.0, 1.0])
INVENTORY = KEYS.assign(on_hand=[30.0, 20.0, 25.0, 40.0], lead_time_mean=4.0)
# One inbound batch: three units rejected at FC1, every FC2 unit passed.
SCORED = pd.DataFrame(
    {
        "item_id": [f"u{i}" for i in range(6)],
        "product_id": ["A", "A", "B", "A", "B", "B"],
        "location_id": ["FC1", "FC1", "FC1", "FC2", "FC2", "FC1"],
        "verdict": ["reject", "reject", "reject", "pass", "pass", "pass"],
    }
)


def _by_key(frame):
    return frame.set_index(["item_id", "location_id"]).sort_index()


def test_one_fc_planned_alone_matches_the_network_plan():
    counts = rejected_units(SCORED)
    whole = _by_key(plan(FORECAST, INVENTORY, rejected=counts))
    fc1 = INVENTORY["location_id"] == "FC1"
    parts = pd.concat(
        [plan(FORECAST, INVENTORY[fc1], rejected=counts), plan(FORECAST, INVENTORY[~fc1])]
    )
    parts = _by_key(parts.fillna({"inspection_held": 0.0}))
    for column in ("inventory_position", "order_qty", "reorder_point", "inspection_held"):
        np.testing.assert_allclose(parts[column], whole[column])
    # The three rejected units leave FC1's stock, once.
    np.testing.assert_allclose(whole["inspection_held"], [2.0, 0.0, 1.0, 0.0])


def test_units_of_a_key_without_an_inventory_row_are_still_refused():
    counts = rejected_units(SCORED)
    fc2 = INVENTORY[INVENTORY["location_id"] == "FC2"]
    with pytest.raises(ValueError, match=r"no inventory row .* \(A, FC1\)"):
        plan(FORECAST, fc2, rejected=counts)


def test_cli_plans_one_fc_with_the_review_queue_of_the_network(tmp_path):
    FORECAST.to_csv(tmp_path / "forecast.csv", index=False)
    INVENTORY[INVENTORY["location_id"] == "FC1"].to_csv(tmp_path / "fc1.csv", index=False)
    rejected_units(SCORED).to_csv(tmp_path / "rejected.csv", index=False)
    store = ReviewStore(tmp_path / "review.db")
    queued = pd.DataFrame(
        {"item_id": ["r1", "r2"], "sku": ["A", "B"], "location_id": ["FC1", "FC2"],
         "product_id": ["A", "B"], "reasons": ["damage"] * 2, "score_damage": [0.5, 0.5]}
    )  # fmt: skip
    store.enqueue(queued, {})
    store.decide("r2", "pass", "tester")  # FC2's unit is back in stock: it holds nothing
    out = tmp_path / "plan.csv"
    args = ["plan", "--forecast", str(tmp_path / "forecast.csv"), "--inventory"]
    args += [str(tmp_path / "fc1.csv"), "--rejected", str(tmp_path / "rejected.csv")]
    assert main([*args, "--review-db", str(tmp_path / "review.db"), "--out", str(out)]) == 0
    result = pd.read_csv(out)
    # FC1: A's two rejects and its unit waiting for review, B's one reject.
    np.testing.assert_allclose(result["inspection_held"], [3.0, 1.0])
    np.testing.assert_allclose(result["inventory_position"], [27.0, 24.0])

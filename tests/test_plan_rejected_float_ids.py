"""``stockcast plan --rejected R.parquet --review-db DB``: a float key (7.0) is SKU 7.

plan() reads a rejected table's float id 7.0 as item "7" (as every table's keys match); with
the review queue the counts were merged after ``astype(str)`` first, so 7.0 became a row
"7.0" of its own beside the queue's "7" and the plan failed ("no inventory row for the
inspected item at key (7.0, FC1)") for a table that plans without ``--review-db``.
"""

import pandas as pd

from serving.cli import main
from serving.review import ReviewStore
from vision.schema import CLASS_NAMES


def test_float_ids_in_a_parquet_rejected_table_meet_the_queue(tmp_path, capsys):
    store = ReviewStore(tmp_path / "review.db")
    store.enqueue(
        pd.DataFrame({"item_id": ["u1", "u2"], "sku": "7", "location_id": "FC1",
                      "product_id": None, "reasons": ""}),
        {},
    )  # fmt: skip
    store.decide("u1", "reject", "ana", CLASS_NAMES[0])  # u2 still waits
    keys = pd.DataFrame({"item_id": ["7"], "location_id": ["FC1"]})
    keys.assign(demand_mean=5.0, demand_std=2.0).to_csv(tmp_path / "f.csv", index=False)
    keys.assign(on_hand=10.0, lead_time_mean=3.0).to_csv(tmp_path / "inv.csv", index=False)
    pd.DataFrame({"item_id": [7.0], "location_id": ["FC1"], "rejected_units": [2]}).to_parquet(
        tmp_path / "rej.parquet"
    )
    args = [
        "plan",
        "--forecast", str(tmp_path / "f.csv"),
        "--inventory", str(tmp_path / "inv.csv"),
        "--out", str(tmp_path / "p.csv"),
        "--rejected", str(tmp_path / "rej.parquet"),
        "--review-db", str(tmp_path / "review.db"),
    ]  # fmt: skip
    assert main(args) == 0, capsys.readouterr().err
    out = pd.read_csv(tmp_path / "p.csv")
    # 2 rejected by inspection + 1 rejected by a person + 1 waiting for review
    assert out["inspection_held"].tolist() == [4.0]
    assert out["inventory_position"].tolist() == [6.0]

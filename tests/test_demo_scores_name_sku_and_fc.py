"""The demo's inspection step writes the day's scores (inspection/scores.parquet) and, from the
same units, the stock holds (inspection/rejected.csv) and the review queue. The scores table was
written before each unit was given its SKU and FC: it said product P0006 at no location for a
unit that rejected.csv and the queue held at SKU000002 @ FC002, so no count of the table
reproduced the holds the demo planned with."""

import pandas as pd

from serving.demo import data as demo_data
from serving.demo.config import DemoConfig
from serving.demo.inspect import inspection_step


def test_scores_table_names_the_units_the_holds_count(tmp_path):
    config = DemoConfig(
        items=4, locations=2, days=120, holdout_weeks=2, horizon=7, tunnel_items=20,
        calibration_items=20, inbound_items=12, image_size=32, inspect_epochs=1,
        progress=False,
    )  # fmt: skip
    outcome = inspection_step(demo_data.embedded(config), config, tmp_path)
    scores = pd.read_parquet(tmp_path / "inspection" / "scores.parquet")
    assert len(scores) == 12
    assert {"sku", "location_id"} <= set(scores.columns)
    assert scores["location_id"].notna().all()
    # The reference: the holds counted by hand from the written scores table.
    held = scores.assign(
        rejected_units=scores["verdict"] == "reject", review_units=scores["verdict"] == "review"
    )
    counts = held.groupby(["sku", "location_id"])[["rejected_units", "review_units"]].sum()
    counts = counts[(counts["rejected_units"] + counts["review_units"]) > 0].astype(int)
    expected = outcome.rejected.set_index(["item_id", "location_id"]).sort_index()
    assert len(expected) > 0  # something was rejected or held
    assert counts.to_numpy().tolist() == expected[counts.columns].to_numpy().tolist()
    assert [tuple(k) for k in counts.index] == [tuple(k) for k in expected.index]
    # Units waiting for a person are named as the queue names them.
    for item in outcome.store.queue():
        row = scores.set_index("item_id").loc[item["item_id"]]
        assert (row["sku"], row["location_id"]) == (item["sku"], item["location_id"])

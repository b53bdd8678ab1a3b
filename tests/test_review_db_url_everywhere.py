"""A review database named as ``serve --review-db`` takes it (a path or a ``sqlite:///path``
URL) is read by ``plan --review-db`` and ``inspect train --feedback`` too: the URL was refused
as "no such file" (``--feedback`` made it the Path "sqlite:/..."), and a reader given a path
where no database is left an empty file there."""

from __future__ import annotations

import pandas as pd
import pytest
from PIL import Image

from serving.review import ReviewError, ReviewStore


def _queue(tmp_path):
    image = tmp_path / "items" / "A1" / "front.png"
    image.parent.mkdir(parents=True)
    Image.new("RGB", (16, 16), (200, 30, 30)).save(image)
    items = pd.DataFrame(
        {"item_id": ["A1"], "sku": ["SKU1"], "location_id": ["FC1"], "product_id": ["P1"],
         "reasons": ["damage 0.61 > review 0.40"], "score_damage": [0.61]}
    )  # fmt: skip
    store = ReviewStore(tmp_path / "review.db")
    store.enqueue(items, {"A1": {"front": {"image": str(image), "heatmap": ""}}})
    store.decide("A1", "reject", "ana", defect="damage")


def test_plan_reads_the_review_database_given_as_a_sqlite_url(tmp_path, capsys):
    from serving.cli import main

    _queue(tmp_path)
    keys = pd.DataFrame({"item_id": ["SKU1"], "location_id": ["FC1"]})
    keys.assign(demand_mean=5.0, demand_std=2.0).to_csv(tmp_path / "f.csv", index=False)
    keys.assign(on_hand=10.0, lead_time_mean=3.0).to_csv(tmp_path / "inv.csv", index=False)
    args = ["plan", "--forecast", str(tmp_path / "f.csv"), "--inventory", str(tmp_path / "inv.csv")]
    held = {}
    for name, db in (
        ("path", str(tmp_path / "review.db")),
        ("url", f"sqlite:///{tmp_path}/review.db"),
    ):
        out = tmp_path / f"plan_{name}.csv"
        assert main([*args, "--review-db", db, "--out", str(out)]) == 0, capsys.readouterr().err
        held[name] = pd.read_csv(out)["inspection_held"].tolist()
    assert held == {"path": [1.0], "url": [1.0]}


def test_inspect_train_feedback_takes_a_sqlite_url(tmp_path, capsys):
    from serving.cli import main

    _queue(tmp_path)
    # The database is found: the run goes on to the training data (absent here), not "no such
    # file" for the database.
    code = main(["inspect", "train", "--data", str(tmp_path / "nodata"), "--feedback",
                 f"sqlite:///{tmp_path}/review.db", "--out", str(tmp_path / "run")])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "--feedback" not in err, err


def test_a_reader_leaves_no_file_where_no_database_is(tmp_path):
    missing = tmp_path / "typo.db"
    with pytest.raises(ReviewError, match="no such file"):
        ReviewStore(missing, create=False)
    assert not missing.exists()

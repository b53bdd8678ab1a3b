"""``stockcast plan --rejected ITEMS --review-db DB``: each unit counted once.

The per-SKU counts of ``inspect rejected`` carry no unit ids, so added to the review database's
counts a unit both hold was taken off twice, and a station's reject that a person overturned
still counted in the batch's. Given the items table of ``inspect score`` itself, plan counts
the units and takes a unit the database holds as the database has it.

Hand case (one SKU at FC1, on_hand 10):
  U1 reject, batch only -> rejected     U2 pass, batch only -> sellable
  U3 review, pending in the db -> held  U4 reject, a station's reject in the db -> rejected
  U5 reject, a station's reject a person passed -> sellable
  U6 review, a person rejected it -> rejected      U7 pending, db only -> held
rejected U1, U4, U6 = 3; held U3, U7 = 2; 5 off on_hand. The counts table gave 7.
"""

from __future__ import annotations

import pandas as pd
import pytest

from kernels import plan
from serving.cli import main
from serving.review import ReviewStore, inspection_holds
from vision.tables import rejected_units


def _unit(item_id: str, sku: str = "SKU1", location: str = "FC1") -> dict:
    return {"item_id": item_id, "sku": sku, "location_id": location, "product_id": sku,
            "reasons": "", "score_damage": 0.5}  # fmt: skip


def _case(tmp_path):
    store = ReviewStore(tmp_path / "review.db")
    store.enqueue(pd.DataFrame([_unit("U3"), _unit("U6"), _unit("U7")]), {})
    store.enqueue(pd.DataFrame([_unit("U4"), _unit("U5")]), {}, state="rejected")
    store.decide("U5", "pass", "ann")
    store.decide("U6", "reject", "ann", defect="damage")
    items = pd.DataFrame(
        {
            "item_id": ["U1", "U2", "U3", "U4", "U5", "U6"],
            "product_id": "SKU1",
            "location_id": "FC1",
            "verdict": ["reject", "pass", "review", "reject", "reject", "review"],
        }
    )
    items.to_csv(tmp_path / "scores.csv", index=False)
    rejected_units(items).to_csv(tmp_path / "rejected.csv", index=False)
    keys = pd.DataFrame({"item_id": ["SKU1"], "location_id": ["FC1"]})
    keys.assign(demand_mean=5.0, demand_std=2.0).to_csv(tmp_path / "f.csv", index=False)
    keys.assign(on_hand=10.0, lead_time_mean=3.0).to_csv(tmp_path / "inv.csv", index=False)
    return store, items


def _plan(tmp_path, *extra: str) -> pd.DataFrame:
    out = tmp_path / "plan.csv"
    out.unlink(missing_ok=True)
    args = ["plan", "--forecast", str(tmp_path / "f.csv"), "--inventory",
            str(tmp_path / "inv.csv"), "--out", str(out), *extra]  # fmt: skip
    assert main(args) == 0
    return pd.read_csv(out)


def test_an_items_table_with_the_review_db_counts_each_unit_once(tmp_path):
    _case(tmp_path)
    db = ["--review-db", str(tmp_path / "review.db")]
    got = _plan(tmp_path, "--rejected", str(tmp_path / "scores.csv"), *db)
    assert got["inspection_held"].tolist() == [5.0]  # before: exit 2, an items table refused
    assert got["inventory_position"].tolist() == [5.0]
    # The batch's review units not in the database are held on request, as without one: none here.
    held = _plan(tmp_path, "--rejected", str(tmp_path / "scores.csv"), "--hold-review", *db)
    assert held["inspection_held"].tolist() == [5.0]
    # Counts carry no ids: today's sum stays as documented (U4 twice, U5 still rejected).
    counts = _plan(tmp_path, "--rejected", str(tmp_path / "rejected.csv"), *db)
    assert counts["inspection_held"].tolist() == [7.0]


def test_inspection_holds_in_python(tmp_path):
    store, items = _case(tmp_path)
    got = inspection_holds(items, store)
    assert got.to_dict("records") == [
        {"item_id": "SKU1", "location_id": "FC1", "rejected_units": 3, "review_units": 2}
    ]
    # A batch review unit the database does not hold: held with hold_review only.
    more = pd.concat([items, pd.DataFrame([{**items.iloc[2], "item_id": "U8"}])])
    assert inspection_holds(more, store)["review_units"].tolist() == [2]
    assert inspection_holds(more, store, hold_review=True)["review_units"].tolist() == [3]
    p = plan(pd.read_csv(tmp_path / "f.csv"), pd.read_csv(tmp_path / "inv.csv"),
             rejected=got, hold_review=True)  # fmt: skip
    assert p["inventory_position"].tolist() == [5.0]


@pytest.mark.parametrize("hold", [[], ["--hold-review"]])
def test_an_items_table_alone_plans_as_its_counts(tmp_path, hold):
    _case(tmp_path)
    items = _plan(tmp_path, "--rejected", str(tmp_path / "scores.csv"), *hold)
    counts = _plan(tmp_path, "--rejected", str(tmp_path / "rejected.csv"), *hold)
    assert items["inspection_held"].tolist() == counts["inspection_held"].tolist()
    assert items["inspection_held"].tolist() == [5.0 if hold else 3.0]


def test_an_items_table_with_another_sku_column_and_leading_zeros(tmp_path):
    _case(tmp_path)
    items = pd.DataFrame({"item_id": ["A", "B"], "sku": ["0007", "0007"],
                          "location_id": "FC1", "verdict": ["reject", "pass"]})  # fmt: skip
    items.to_csv(tmp_path / "scores.csv", index=False)
    keys = pd.DataFrame({"item_id": ["0007"], "location_id": ["FC1"]})
    keys.assign(demand_mean=5.0, demand_std=2.0).to_csv(tmp_path / "f.csv", index=False)
    keys.assign(on_hand=10.0, lead_time_mean=3.0).to_csv(tmp_path / "inv.csv", index=False)
    got = _plan(tmp_path, "--rejected", str(tmp_path / "scores.csv"), "--sku-column", "sku")
    assert got["inspection_held"].tolist() == [1.0]


def _error(tmp_path, capsys, *extra: str) -> str:
    args = ["plan", "--forecast", str(tmp_path / "f.csv"), "--inventory",
            str(tmp_path / "inv.csv"), "--out", str(tmp_path / "p.csv"), *extra]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "p.csv").exists()
    return err


def test_bad_items_tables_are_clean_errors(tmp_path, capsys):
    _, items = _case(tmp_path)
    db = ["--review-db", str(tmp_path / "review.db")]
    # One id, two units: the batch says FC2, the database FC1.
    items.assign(location_id="FC2").to_csv(tmp_path / "other.csv", index=False)
    err = _error(tmp_path, capsys, "--rejected", str(tmp_path / "other.csv"), *db)
    assert "--rejected" in err and "'U3'" in err and "FC2" in err
    items.drop(columns="location_id").to_csv(tmp_path / "noloc.csv", index=False)
    err = _error(tmp_path, capsys, "--rejected", str(tmp_path / "noloc.csv"), *db)
    assert "location_id" in err
    err = _error(
        tmp_path, capsys, "--rejected", str(tmp_path / "scores.csv"), "--sku-column", "sku"
    )
    assert "'sku'" in err
    err = _error(
        tmp_path, capsys, "--rejected", str(tmp_path / "rejected.csv"), "--sku-column", "x"
    )
    assert "--sku-column" in err and "counts table" in err
    with pytest.raises(ValueError, match="rejected: an items table"):
        plan(pd.read_csv(tmp_path / "f.csv"), pd.read_csv(tmp_path / "inv.csv"), rejected=items)


def test_sku_column_with_a_table_of_neither_kind_names_what_is_missing(tmp_path, capsys):
    _case(tmp_path)
    # "Verdict" is no verdict column: the table is neither an items table nor counts. It was
    # called "a counts table (rejected_units)", which it is not.
    items = pd.DataFrame({"item_id": ["U1"], "sku": ["SKU1"], "location_id": "FC1",
                          "Verdict": ["reject"]})  # fmt: skip
    items.to_csv(tmp_path / "neither.csv", index=False)
    err = _error(
        tmp_path, capsys, "--rejected", str(tmp_path / "neither.csv"), "--sku-column", "sku"
    )
    assert "no verdict column" in err and "counts table" in err
    assert "is a counts table" not in err


def test_a_unit_without_an_item_id_is_refused_with_a_review_database(tmp_path, capsys):
    """A batch unit with no item_id cannot be matched with the database's units: it was counted
    by its verdict whether or not the database held it (U3 sent again without its id: held 6,
    not 5). Refused, naming the row, as a table without the item_id column is."""
    store, items = _case(tmp_path)
    again = pd.concat([items, items.iloc[[2]].assign(item_id=None)], ignore_index=True)
    with pytest.raises(ValueError, match=r"item_id is empty at rows \[6\]"):
        inspection_holds(again, store, hold_review=True)
    again.to_csv(tmp_path / "again.csv", index=False)
    db = str(tmp_path / "review.db")
    args = ["plan", "--forecast", str(tmp_path / "f.csv"), "--inventory",
            str(tmp_path / "inv.csv"), "--out", str(tmp_path / "p.csv"),
            "--rejected", str(tmp_path / "again.csv"), "--review-db", db]  # fmt: skip
    assert main(args) == 2
    assert "item_id is empty at rows [6]" in capsys.readouterr().err
    assert not (tmp_path / "p.csv").exists()


def test_hold_review_with_the_review_db_alone_holds_the_waiting_units(tmp_path):
    # The database's waiting units are held with or without the flag: it was refused as
    # "--hold-review needs --rejected".
    _case(tmp_path)
    db = ["--review-db", str(tmp_path / "review.db")]
    without = _plan(tmp_path, *db)
    with_flag = _plan(tmp_path, *db, "--hold-review")
    pd.testing.assert_frame_equal(with_flag, without)
    # U3 and U7 wait for a person; U4 (a station's reject) and U6 (a person's) are rejected.
    assert with_flag["inspection_held"].tolist() == [4]

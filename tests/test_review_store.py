"""The review queue as several service processes, the command line and retraining use it:
concurrent decisions, database URLs, foreign SQLite files, published folders, unknown classes."""

from __future__ import annotations

import sqlite3
import threading

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from kernels.runfolder import building
from serving.review import ReviewError, ReviewStore, with_feedback
from serving.service.app import create_app
from serving.service.config import ServiceConfig
from tests.conftest import png, queued_items


def test_two_processes_deciding_one_item_record_it_once(tmp_path):
    items, views = queued_items(tmp_path)
    first = ReviewStore(tmp_path / "review.db")  # worker 1
    second = ReviewStore(tmp_path / "review.db")  # worker 2: its own lock, as another process
    first.enqueue(items, views)
    go, done = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    class Checked(sqlite3.Connection):
        def execute(self, sql, *args):
            result = super().execute(sql, *args)
            if sql.startswith("SELECT state") and not go.is_set():
                go.set()  # worker 2 decides the item now, between worker 1's check and write
                done.wait(timeout=2)
            return result

    def connect():
        db = sqlite3.connect(first.path, timeout=30, factory=Checked)
        db.row_factory = sqlite3.Row
        return db

    first._connect = connect

    def other():
        go.wait(timeout=10)
        try:
            outcome["second"] = second.decide("A1", "pass", "bo")
        except Exception as exc:  # the type is the point
            outcome["second"] = exc
        done.set()

    thread = threading.Thread(target=other)
    thread.start()
    try:
        outcome["first"] = first.decide("A1", "reject", "ana", defect="damage")
    except Exception as exc:
        outcome["first"] = exc
    thread.join(timeout=60)
    errors = [v for v in outcome.values() if isinstance(v, Exception)]
    records = [v for v in outcome.values() if isinstance(v, dict)]
    assert len(records) == 1 and len(errors) == 1, outcome
    assert isinstance(errors[0], ReviewError) and "already decided" in str(errors[0])
    decisions = first.decisions()
    assert decisions[["item_id", "decision"]].values.tolist() == [["A1", records[0]["decision"]]]
    with pytest.raises(ReviewError, match="already decided"):
        second.decide("A1", "pass", "bo")


@pytest.mark.parametrize("url", [False, True])
def test_review_images_are_served_with_a_database_url(tmp_path, url):
    items, views = queued_items(tmp_path)
    ReviewStore(tmp_path / "review.db").enqueue(items, views)
    (tmp_path / "repo").mkdir()
    db = f"sqlite:///{tmp_path / 'review.db'}" if url else str(tmp_path / "review.db")
    with TestClient(create_app(tmp_path / "repo", ServiceConfig(review_db=db))) as client:
        for kind in ("image", "heatmap"):
            got = client.get(f"/v1/review/items/A1/views/front/{kind}")
            assert got.status_code == 200 and got.content[:4] == b"\x89PNG"
        assert client.get("/v1/review/items/C3/views/front/image").status_code == 404  # /etc


def _other_app(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE runs (id INTEGER)")


def _other_items(path):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE items (item_id TEXT PRIMARY KEY, name TEXT)")


@pytest.mark.parametrize("make", [_other_app, _other_items, lambda path: path.write_bytes(b"")])
def test_plan_refuses_a_file_that_is_not_a_review_database(tmp_path, capsys, make):
    from serving.cli import main

    db = tmp_path / "other.db"
    make(db)
    before = db.read_bytes()
    keys = pd.DataFrame({"item_id": ["SKU1"], "location_id": ["FC1"]})
    keys.assign(demand_mean=5.0, demand_std=2.0).to_csv(tmp_path / "f.csv", index=False)
    keys.assign(on_hand=10.0, lead_time_mean=3.0).to_csv(tmp_path / "inv.csv", index=False)
    out = tmp_path / "plan.csv"
    code = main(["plan", "--forecast", str(tmp_path / "f.csv"), "--inventory",
                 str(tmp_path / "inv.csv"), "--review-db", str(db), "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "--review-db" in err and "not a review database" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() and db.read_bytes() == before
    with pytest.raises(ReviewError, match="not a review database"):
        ReviewStore(db, create=False)


def test_a_new_store_is_still_created_and_read(tmp_path):
    ReviewStore(tmp_path / "new" / "review.db")  # the service and the demo create it
    assert ReviewStore(tmp_path / "new" / "review.db", create=False).queue() == []


def test_queued_view_files_survive_publishing_the_folder(tmp_path, monkeypatch):
    from vision.items import ItemSet
    from vision.schema import CLASS_NAMES, VIEW_NAMES

    monkeypatch.chdir(tmp_path)  # the demo's --out is relative, as in the README
    with building("run") as out:
        store = ReviewStore(out / "review.db")
        views = {"A1": {"front": {"image": png(out / "data" / "items" / "A1" / "front.png"),
                                  "heatmap": png(out / "heat" / "A1" / "front.png")}}}  # fmt: skip
        items = pd.DataFrame({"item_id": ["A1"], "sku": ["SKU1"], "location_id": ["FC1"],
                              "reasons": ["damage"]})  # fmt: skip
        store.enqueue(items, views)
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())
    (tmp_path / "models").mkdir()
    app = create_app(tmp_path / "models", ServiceConfig(workspace=str(tmp_path / "run")))
    with TestClient(app) as client:
        for kind in ("image", "heatmap"):
            got = client.get(f"/v1/review/items/A1/views/front/{kind}")
            assert got.status_code == 200 and got.content[:4] == b"\x89PNG", got.text
        decided = client.post(
            "/v1/review/items/A1/decision", json={"decision": "pass", "reviewer": "ana"}
        )
        assert decided.status_code == 200
    base = ItemSet(tmp_path, "tunnel", [], tuple(CLASS_NAMES), tuple(VIEW_NAMES))
    monkeypatch.chdir("/")  # read from elsewhere, as `inspect train --feedback` may be
    merged, added = with_feedback(base, ReviewStore(tmp_path / "run" / "review.db"))
    assert added == 1 and merged.items[0].views["front"].is_file()


def test_a_reject_of_a_class_the_data_lacks_is_not_a_good_label(tmp_path):
    from vision.items import ItemSet

    store = ReviewStore(tmp_path / "review.db")
    items, views = queued_items(tmp_path)
    store.enqueue(items, views)
    store.decide("A1", "reject", "ana", defect="wrong_color")
    store.decide("B2", "pass", "bo")
    base = ItemSet(tmp_path, "classes", [], ("damage", "packaging"), ("front",))
    with pytest.warns(UserWarning, match="1 rejected items.*'A1'"):
        merged, added = with_feedback(base, store)
    # the pass joins as a good item; the reject is left out, not labelled good
    assert added == 1 and [item.item_id for item in merged.items] == ["review-B2"]
    store2 = ReviewStore(tmp_path / "other.db")
    store2.enqueue(items, views)
    store2.decide("A1", "reject", "ana", defect="packaging")
    merged, added = with_feedback(base, store2)
    assert added == 1 and merged.items[0].labels.tolist() == [0.0, 1.0]


def _units(ids, skus, locations):
    return pd.DataFrame(
        {"item_id": ids, "sku": skus, "location_id": locations, "product_id": "P1",
         "reasons": "damage", "score_damage": 0.5}
    )  # fmt: skip


def _held(store):
    frame = store.stock_adjustments()
    return {(r.item_id, r.location_id): r.review_units for r in frame.itertuples(index=False)}


def test_one_batch_with_an_id_for_two_units_is_refused(tmp_path):
    store = ReviewStore(tmp_path / "review.db")
    with pytest.raises(ReviewError, match="'U1'"):
        store.enqueue(_units(["U1", "U1"], ["S1", "S2"], ["FC1", "FC1"]), {})
    assert store.queue() == [] and _held(store) == {}  # nothing half-queued


def test_a_later_unit_under_a_queued_id_is_refused(tmp_path):
    store = ReviewStore(tmp_path / "review.db")
    assert store.enqueue(_units(["U1", "U2"], ["S1", "S1"], ["FC1", "FC1"]), {}) == 2
    store.decide("U2", "pass", "ana")
    for sku, location in (("S2", "FC1"), ("S1", "FC2")):
        with pytest.raises(ReviewError, match="'U1'"):
            store.enqueue(_units(["U3", "U1"], [sku, sku], [location, location]), {})
    # the same units again are left as they are (no error, none added)
    assert store.enqueue(_units(["U1", "U2"], ["S1", "S1"], ["FC1", "FC1"]), {}) == 0
    assert [i["item_id"] for i in store.queue()] == ["U1"]
    assert _held(store) == {("S1", "FC1"): 1}

"""A ReviewStore (the service's queue) whose database file is replaced while it is open answers
as a fresh store on that file would: a queue archived (moved away) or an older queue restored
(no ``model`` column) read "no such table: items" / "no column named model" until a restart."""

import os
import sqlite3

import pandas as pd

from serving.review import ReviewStore
from tests.test_station_review_queue import OLD_TABLES


def _items(item_id: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": [item_id],
            "sku": ["s1"],
            "location_id": ["fc1"],
            "product_id": ["p1"],
            "reasons": ["dent"],
            "score_dent": [0.5],
            "model": ["inspect/1"],
        }
    )


def test_queue_archived_then_new_one(tmp_path):
    path = tmp_path / "review.db"
    store = ReviewStore(path)
    assert store.enqueue(_items("u1"), {}) == 1
    os.replace(path, tmp_path / "archive.db")  # the queue archived; a new one starts
    assert store.enqueue(_items("u2"), {}) == 1
    assert [row["item_id"] for row in ReviewStore(path, create=False).queue()] == ["u2"]


def test_older_queue_restored(tmp_path):
    path = tmp_path / "review.db"
    store = ReviewStore(path)
    assert store.enqueue(_items("u1"), {}) == 1
    older = tmp_path / "older.db"
    with sqlite3.connect(older) as db:
        db.executescript(OLD_TABLES)
    os.replace(older, path)
    assert store.enqueue(_items("u2"), {}) == 1
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT item_id, model FROM items").fetchall()
    assert rows == [("u2", "inspect/1")]

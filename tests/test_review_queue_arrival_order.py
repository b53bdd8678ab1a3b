"""The review queue lists pending items oldest first (serving.review.ReviewStore.queue).

``queued`` is stored to the second and ties were broken by the item id's text, so items
queued within one second (a scored table's batch, a busy station) came back in id order:
unit-9, unit-10, unit-1 queued in that order were listed unit-1, unit-10, unit-9, newest
first, and ``limit`` kept the lowest ids rather than the oldest items.
"""

import pandas as pd

from serving.review import ReviewStore


def test_items_queued_in_one_second_keep_their_arrival_order(tmp_path, monkeypatch):
    import serving.review as review

    monkeypatch.setattr(review, "_now", lambda: "2026-12-06T17:45:03+00:00")  # one second
    store = ReviewStore(tmp_path / "review.db")
    arrived = ["unit-9", "unit-10", "unit-1", "b", "a"]
    for item_id in arrived:
        row = {"item_id": item_id, "sku": "S", "location_id": "F", "reasons": "damage",
               "score_damage": 0.5}  # fmt: skip
        assert store.enqueue(pd.DataFrame([row]), {}) == 1
    assert [item["item_id"] for item in store.queue()] == arrived
    assert [item["item_id"] for item in store.queue(limit=2)] == arrived[:2]
    # A batch keeps its table's order too.
    batch = pd.DataFrame(
        {
            "item_id": ["z2", "z1"],
            "sku": "S",
            "location_id": "F",
            "reasons": "",
            "score_damage": 0.4,
        }
    )
    store.enqueue(batch, {})
    assert [item["item_id"] for item in store.queue()][-2:] == ["z2", "z1"]

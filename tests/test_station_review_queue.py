"""The station's review verdicts reach the review queue: ``POST /v1/inspect`` with ``item_id``,
``sku`` and ``location_id`` queues an item scored ``review`` with the photos it was scored on
and their heatmaps (until now only the demo filled the queue, so a unit a station sent to
review never reached a person), and a reviewer rejects it as one of the classes its model
scored (a class-folder model's own classes, not only the tunnel's four)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from serving.export import export_run
from serving.review import ReviewError, ReviewStore
from serving.service.app import create_app
from serving.service.config import ServiceConfig
from training import ImageTrainConfig
from vision import Inspector
from vision.schema import CLASS_NAMES, VIEW_NAMES
from vision.synthetic import write_synthetic_dataset

SIZE = 32


def _jpeg_turned() -> bytes:
    """A photo stored as 20 x 40 pixels with EXIF orientation 6: 40 x 20 when upright."""
    stored = np.zeros((40, 20, 3), np.uint8)
    stored[:5] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def test_a_station_item_is_queued_with_its_photos_and_its_model_classes(tmp_path):
    store = ReviewStore(tmp_path / "review.db")
    item = {"item_id": "u1", "sku": "S1", "location_id": "FC1", "reasons": "crack 0.61",
            "scores": {"crack": 0.61, "pit": 0.05}}  # fmt: skip
    heat = io.BytesIO()
    Image.new("RGB", (8, 8)).save(heat, format="PNG")
    assert store.enqueue_photos(item, {"front": _jpeg_turned()}, {"front": heat.getvalue()})
    (queued,) = store.queue()
    assert queued["classes"] == ["crack", "pit"]
    files = queued["views"]["front"]
    with Image.open(files["image"]) as image:
        assert image.format == "PNG" and image.size == (40, 20)  # upright, as displayed
    assert Image.open(files["heatmap"]).size == (8, 8)
    assert store.stock_adjustments().to_dict("records") == [
        {"item_id": "S1", "location_id": "FC1", "review_units": 1, "rejected_units": 0}
    ]
    # queued again (a station retrying): left as it is, no second copy of the photos
    assert not store.enqueue_photos(item, {"front": _jpeg_turned()})
    assert len(list((tmp_path / "photos").iterdir())) == 1
    # another unit under the same id: refused, and its photos are not kept
    with pytest.raises(ReviewError, match="another unit"):
        store.enqueue_photos({**item, "sku": "S2"}, {"front": _jpeg_turned()})
    assert len(list((tmp_path / "photos").iterdir())) == 1
    with pytest.raises(ReviewError, match="crack"):
        store.decide("u1", "reject", "ana", "damage")  # not a class of this item's model
    store.decide("u1", "reject", "ana", "crack")
    assert store.stock_adjustments()["rejected_units"].tolist() == [1]


def test_items_queued_without_scores_keep_the_tunnel_classes(tmp_path):
    store = ReviewStore(tmp_path / "review.db")
    store.enqueue_photos({"item_id": "u2", "sku": "S", "location_id": "F"}, {})
    assert store.queue()[0]["classes"] == list(CLASS_NAMES)
    store.decide("u2", "reject", "ana", CLASS_NAMES[0])


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("station_queue")
    tunnel = write_synthetic_dataset(
        base / "tunnel", 16, seed=41, image_size=SIZE, defect_rate=0.3, progress=False
    )
    good = write_synthetic_dataset(
        base / "good", 12, seed=42, image_size=SIZE, defect_rate=0.0, progress=False
    )
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(
        width=8, image_size=SIZE, head_dim=16, target_frr=0.2, review_rate=0.1, train=fast
    )
    inspector.fit(tunnel, run_dir=base / "run").calibrate(good, progress=False)
    export_run(base / "run", base / "repo", "tunnel")
    config = ServiceConfig(review_db=str(base / "review.db"))
    with TestClient(create_app(base / "repo", config)) as client:
        yield client, good, base


def _files(root, item_id, views):
    return [(v, (f"{v}.png", (root / "items" / item_id / f"{v}.png").read_bytes(), "image/png"))
            for v in views]  # fmt: skip


def test_a_review_verdict_at_the_station_waits_for_a_person(served):
    client, good, base = served
    # One view missing: the unit is not fully inspected, so its verdict is at least review.
    answers = {}
    for k, item_dir in enumerate(sorted((good / "items").iterdir())[:6]):
        fields = {"item_id": f"unit-{k}", "sku": "SKU1", "location_id": "FC9"}
        response = client.post(
            "/v1/inspect", files=_files(good, item_dir.name, VIEW_NAMES[1:]), data=fields
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["queued"] == (body["verdict"] == "review")
        assert all(v["heatmap_png"] is None for v in body["views"])  # not asked for
        answers[f"unit-{k}"] = body["verdict"]
    reviewed = sorted(k for k, v in answers.items() if v == "review")
    assert reviewed, answers
    queue = client.get("/v1/review/queue").json()
    assert sorted(q["item_id"] for q in queue) == reviewed
    assert {q["model"] for q in queue} == {"tunnel/1"}  # the package that scored them
    first = queue[0]
    assert sorted(first["views"]) == sorted(VIEW_NAMES[1:])  # the views it was scored on
    for kind in ("image", "heatmap"):
        shown = client.get(f"/v1/review/items/{first['item_id']}/views/{VIEW_NAMES[1]}/{kind}")
        assert shown.status_code == 200 and shown.content[:8] == b"\x89PNG\r\n\x1a\n"
    decided = client.post(
        f"/v1/review/items/{first['item_id']}/decision",
        json={"decision": "reject", "defect": first["classes"][0], "reviewer": "ana"},
    )
    assert decided.status_code == 200, decided.text
    # without the unit's SKU and location nothing is queued, and half a unit is named
    before = len(client.get("/v1/review/queue").json())
    plain = client.post("/v1/inspect", files=_files(good, "s42-00000", VIEW_NAMES[1:]))
    assert plain.status_code == 200 and plain.json()["queued"] is False
    assert len(client.get("/v1/review/queue").json()) == before
    half = client.post(
        "/v1/inspect", files=_files(good, "s42-00000", VIEW_NAMES), data={"sku": "SKU1"}
    )
    assert half.status_code == 422 and "item_id" in half.text


def test_a_decided_unit_sent_again_is_not_reported_queued(served):
    """A unit sent to the station again after a person decided it is not waiting in the review
    queue: ``/v1/inspect`` must not answer ``"queued": true`` for it (the queue keeps the decision,
    ``plan --review-db`` counts the unit as passed stock, and nobody is shown it again, while the
    station was told it waits for a person)."""
    client, good, _ = served
    fields = {"item_id": "unit-x", "sku": "SKU1", "location_id": "FC9"}
    views = VIEW_NAMES[1:]  # one view missing: not fully inspected, at least review
    for item_dir in sorted((good / "items").iterdir()):
        first = client.post("/v1/inspect", files=_files(good, item_dir.name, views), data=fields)
        assert first.status_code == 200, first.text
        if first.json()["verdict"] == "review":
            break
    else:
        pytest.skip("no item scored review")
    assert first.json()["queued"] is True
    # sent again while it waits: it is left as it is and still waits
    again = client.post("/v1/inspect", files=_files(good, item_dir.name, views), data=fields)
    assert again.json()["queued"] is True
    decided = client.post(
        "/v1/review/items/unit-x/decision", json={"decision": "pass", "reviewer": "ana"}
    )
    assert decided.status_code == 200, decided.text
    later = client.post("/v1/inspect", files=_files(good, item_dir.name, views), data=fields)
    assert later.status_code == 200 and later.json()["verdict"] == "review"
    waiting = [q["item_id"] for q in client.get("/v1/review/queue").json()]
    assert "unit-x" not in waiting  # the queue keeps the person's decision
    assert later.json()["queued"] is False  # so the answer must not say it waits


OLD_TABLES = """
CREATE TABLE items (item_id TEXT PRIMARY KEY, sku TEXT NOT NULL, location_id TEXT NOT NULL,
    product_id TEXT, scores TEXT NOT NULL, reasons TEXT NOT NULL, views TEXT NOT NULL,
    queued TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'pending');
CREATE TABLE decisions (item_id TEXT PRIMARY KEY REFERENCES items(item_id),
    decision TEXT NOT NULL, defect TEXT, reviewer TEXT NOT NULL, decided TEXT NOT NULL);
"""
OLD_SCHEMA = (
    OLD_TABLES
    + """
INSERT INTO items VALUES ('old', 'S', 'F', NULL, '{}', '', '{}', '2026-12-01', 'decided');
INSERT INTO decisions VALUES ('old', 'pass', NULL, 'ana', '2026-12-01T10:00:00+00:00');
"""
)


def test_a_queue_made_before_items_named_their_model_is_read_and_extended(tmp_path):
    import sqlite3

    path = tmp_path / "review.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    reader = ReviewStore(path, create=False)  # plan --review-db: nothing written
    assert reader.decisions()["model"].isna().all()
    with sqlite3.connect(path) as db:
        assert "model" not in {r[1] for r in db.execute("PRAGMA table_info(items)")}
    store = ReviewStore(path)  # the service: the column is added, old rows kept
    store.enqueue_photos({"item_id": "new", "sku": "S", "location_id": "F", "model": "parts/3"}, {})
    assert [q["model"] for q in store.queue()] == ["parts/3"]
    store.decide("new", "pass", "ana")
    models = store.decisions().set_index("item_id")["model"]
    assert pd.isna(models["old"]) and models["new"] == "parts/3"


def test_a_unit_the_station_rejects_leaves_sellable_stock(tmp_path):
    """A station's reject is recorded with its photos, is not in the review queue, and counts
    as a rejected unit for ``plan --review-db``; it is not a person's label for ``--feedback``
    until a person decides it (see the next test)."""
    store = ReviewStore(tmp_path / "review.db")
    item = {"item_id": "r1", "sku": "S1", "location_id": "FC1", "scores": {"crack": 0.97}}
    assert store.enqueue_photos(item, {"front": _jpeg_turned()}, state="rejected")
    store.enqueue_photos({**item, "item_id": "q1"}, {"front": _jpeg_turned()})
    assert [q["item_id"] for q in store.queue()] == ["q1"]
    assert store.stock_adjustments().to_dict("records") == [
        {"item_id": "S1", "location_id": "FC1", "review_units": 1, "rejected_units": 1}
    ]
    assert store.decisions().empty  # not a label: the network's own verdict
    # scored again as review, the recorded reject stands
    assert not store.enqueue_photos(item, {"front": _jpeg_turned()})
    assert store.item("r1")["state"] == "rejected"
    with pytest.raises(ValueError, match="state"):
        store.enqueue_photos({**item, "item_id": "x"}, {}, state="decided")


def test_a_person_overturns_a_station_reject_and_the_unit_is_sellable_again(tmp_path):
    """A station's false reject stayed out of sellable stock for good: deciding it was refused
    ("rejected by its station's verdict") and no list showed it. A person now finds it among
    the station rejects and passes it (back in stock, a good label) or confirms it."""
    store = ReviewStore(tmp_path / "review.db")
    for k in (1, 2):
        unit = {"item_id": f"r{k}", "sku": "S1", "location_id": "FC1", "scores": {"crack": 0.9}}
        store.enqueue_photos(unit, {"front": _jpeg_turned()}, state="rejected")
    assert [q["item_id"] for q in store.queue(state="rejected")] == ["r1", "r2"]
    assert store.queue() == []  # the review queue holds what waits for a verdict
    store.decide("r1", "pass", "ana")
    store.decide("r2", "reject", "ana", "crack")
    assert store.queue(state="rejected") == []
    assert store.stock_adjustments().to_dict("records") == [
        {"item_id": "S1", "location_id": "FC1", "review_units": 0, "rejected_units": 1}
    ]
    labels = store.decisions().set_index("item_id")
    assert labels.loc["r1", "decision"] == "pass" and labels.loc["r2", "defect"] == "crack"
    with pytest.raises(ReviewError, match="already decided"):
        store.decide("r1", "reject", "bo", "crack")
    with pytest.raises(ReviewError, match="state"):
        store.queue(state="decided")


def test_station_rejects_reach_the_stock_counts(served):
    client, good, base = served
    tunnel = base / "tunnel"
    verdicts = {}
    for k, item_dir in enumerate(sorted((tunnel / "items").iterdir())):
        fields = {"item_id": f"tunnel-{k}", "sku": "SKU7", "location_id": "FC7"}
        response = client.post(
            "/v1/inspect", files=_files(tunnel, item_dir.name, VIEW_NAMES), data=fields
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["recorded"] == (body["verdict"] == "reject")
        assert body["queued"] == (body["verdict"] == "review")
        verdicts[fields["item_id"]] = body["verdict"]
    rejected = sorted(k for k, v in verdicts.items() if v == "reject")
    assert rejected, verdicts
    waiting = {q["item_id"] for q in client.get("/v1/review/queue").json()}
    assert not waiting & set(rejected)
    counts = ReviewStore(base / "review.db", create=False).stock_adjustments()
    row = counts[(counts["item_id"] == "SKU7") & (counts["location_id"] == "FC7")].iloc[0]
    assert row["rejected_units"] == len(rejected)
    assert row["review_units"] == sum(v == "review" for v in verdicts.values())
    # A person finds the station's rejects on their own page and passes one back into stock.
    listed = client.get("/v1/review/queue", params={"state": "rejected"}).json()
    assert sorted(q["item_id"] for q in listed) == rejected
    assert "const QUEUE_STATE = 'rejected';" in client.get("/review/rejected").text
    answer = client.post(
        "/v1/review/decision", params={"item_id": rejected[0]},
        json={"decision": "pass", "reviewer": "ana"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    counts = ReviewStore(base / "review.db", create=False).stock_adjustments()
    row = counts[(counts["item_id"] == "SKU7") & (counts["location_id"] == "FC7")].iloc[0]
    assert row["rejected_units"] == len(rejected) - 1
    assert client.get("/v1/review/queue", params={"state": "decided"}).status_code == 422


def test_two_workers_extending_an_old_queue_at_once_both_open_it(tmp_path, monkeypatch):
    """serve --workers N: each worker checks for the model column, then adds it; one that
    checked before another added it found the column there when it tried (it read the queue as
    'not a review database' and the worker did not start)."""
    import sqlite3

    import serving.review as review

    path = tmp_path / "review.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    ReviewStore(path)  # the first worker adds the column
    seen = review._columns
    # the second one checked before that
    monkeypatch.setattr(review, "_columns", lambda db, table: seen(db, table) - {"model"})
    ReviewStore(path).enqueue_photos({"item_id": "u", "sku": "S", "location_id": "F"}, {})
    monkeypatch.undo()
    assert [q["item_id"] for q in ReviewStore(path).queue()] == ["u"]


def test_a_queued_item_says_why_its_inspection_is_incomplete(served):
    # The reviewer saw "incomplete inspection" alone: not which view was missing, nor that
    # colour and size went unchecked (no product id), which the reviewer is then to check.
    client, good, base = served
    fields = {"item_id": "unit-why", "sku": "SKU1", "location_id": "FC9"}
    response = client.post(
        "/v1/inspect", files=_files(good, "s42-00001", VIEW_NAMES[1:]), data=fields
    )
    assert response.status_code == 200 and response.json()["queued"], response.text
    (item,) = [q for q in client.get("/v1/review/queue").json() if q["item_id"] == "unit-why"]
    assert "incomplete inspection" in item["reasons"], item["reasons"]
    assert f"view '{VIEW_NAMES[0]}': missing" in item["reasons"], item["reasons"]
    assert "colour and size cannot be checked" in item["reasons"], item["reasons"]


def test_a_scored_table_queued_with_its_errors_shows_them(tmp_path):
    store = ReviewStore(tmp_path / "review.db")
    rows = pd.DataFrame(
        {"item_id": ["a", "b"], "sku": "S", "location_id": "F", "product_id": None,
         "reasons": ["incomplete inspection", "damage"],
         "errors": ["view 'top': missing | no product_id", np.nan], "score_damage": 0.5}
    )  # fmt: skip
    store.enqueue(rows, {})
    reasons = {q["item_id"]: q["reasons"] for q in store.queue()}
    assert reasons == {
        "a": "incomplete inspection (view 'top': missing | no product_id)",
        "b": "damage",
    }

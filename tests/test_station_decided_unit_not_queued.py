"""A unit sent to the station again after a person decided it is not waiting in the review
queue: ``/v1/inspect`` must not answer ``"queued": true`` for it (the queue keeps the decision,
``plan --review-db`` counts the unit as passed stock, and nobody is shown it again, while the
station was told it waits for a person)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from serving.export import export_run
from serving.service.app import create_app
from serving.service.config import ServiceConfig
from training import ImageTrainConfig
from vision import Inspector
from vision.schema import VIEW_NAMES
from vision.synthetic import write_synthetic_dataset

SIZE = 32


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    base = tmp_path_factory.mktemp("station_decided")
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
        yield client, good


def _files(root, item_dir, views):
    return [(v, (f"{v}.png", (item_dir / f"{v}.png").read_bytes(), "image/png")) for v in views]


def test_a_decided_unit_sent_again_is_not_reported_queued(served):
    client, good = served
    fields = {"item_id": "unit-x", "sku": "SKU1", "location_id": "FC9"}
    views = VIEW_NAMES[1:]  # one view missing: not fully inspected, at least review
    for item_dir in sorted((good / "items").iterdir()):
        first = client.post("/v1/inspect", files=_files(good, item_dir, views), data=fields)
        assert first.status_code == 200, first.text
        if first.json()["verdict"] == "review":
            break
    else:
        pytest.skip("no item scored review")
    assert first.json()["queued"] is True
    # sent again while it waits: it is left as it is and still waits
    again = client.post("/v1/inspect", files=_files(good, item_dir, views), data=fields)
    assert again.json()["queued"] is True
    decided = client.post(
        "/v1/review/items/unit-x/decision", json={"decision": "pass", "reviewer": "ana"}
    )
    assert decided.status_code == 200, decided.text
    later = client.post("/v1/inspect", files=_files(good, item_dir, views), data=fields)
    assert later.status_code == 200 and later.json()["verdict"] == "review"
    waiting = [q["item_id"] for q in client.get("/v1/review/queue").json()]
    assert "unit-x" not in waiting  # the queue keeps the person's decision
    assert later.json()["queued"] is False  # so the answer must not say it waits

"""A unit waiting in the review queue that the station scores again and passes is left waiting
(README: "an id sent again while it waits is left as it is"): it stays held out of sellable
stock until a person decides. The answer's ``queued`` must say so; it read false, telling the
station the unit waits for no one while the queue and ``plan --review-db`` held it."""

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from serving.export import export_run
from serving.review import ReviewStore
from serving.service.app import create_app
from serving.service.config import ServiceConfig
from training import ImageTrainConfig
from vision import Inspector
from vision.schema import VIEW_NAMES
from vision.synthetic import write_synthetic_dataset


def _files(root, item_id, views):
    return [(v, (f"{v}.png", (root / "items" / item_id / f"{v}.png").read_bytes(), "image/png"))
            for v in views]  # fmt: skip


@pytest.mark.slow
def test_a_waiting_unit_passed_again_is_reported_still_queued(tmp_path):
    tunnel = write_synthetic_dataset(tmp_path / "tunnel", 16, seed=41, image_size=32,
                                     defect_rate=0.3, progress=False)  # fmt: skip
    good = write_synthetic_dataset(tmp_path / "good", 12, seed=42, image_size=32,
                                   defect_rate=0.0, progress=False)  # fmt: skip
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, image_size=32, head_dim=16, target_frr=0.2, train=fast)
    inspector.fit(tunnel, run_dir=tmp_path / "run").calibrate(good, progress=False)
    export_run(tmp_path / "run", tmp_path / "repo", "tunnel")
    db = tmp_path / "review.db"
    labels = pd.read_csv(good / "labels.csv", dtype=str)
    with TestClient(create_app(tmp_path / "repo", ServiceConfig(review_db=str(db)))) as client:
        for row in labels.itertuples():  # a good item the model passes with every view
            answer = client.post("/v1/inspect", files=_files(good, row.item_id, VIEW_NAMES),
                                 data={"product_id": row.product_id}).json()  # fmt: skip
            if answer["verdict"] == "pass":
                break
        assert answer["verdict"] == "pass"
        unit = {"item_id": "u1", "sku": "S1", "location_id": "FC1", "product_id": row.product_id}
        # a view missing: incomplete, so review, and the unit waits for a person
        first = client.post("/v1/inspect", files=_files(good, row.item_id, VIEW_NAMES[:-1]),
                            data=unit).json()  # fmt: skip
        assert first["verdict"] == "review" and first["queued"]
        again = client.post("/v1/inspect", files=_files(good, row.item_id, VIEW_NAMES),
                            data=unit).json()  # fmt: skip
        assert again["verdict"] == "pass"
        store = ReviewStore(db)
        assert store.item("u1")["state"] == "pending"  # left as it was, still held
        assert store.stock_adjustments()["review_units"].tolist() == [1]
        assert again["queued"] is True
        # a unit never queued and passed is not reported queued
        other = client.post("/v1/inspect", files=_files(good, row.item_id, VIEW_NAMES),
                            data={**unit, "item_id": "u2"}).json()  # fmt: skip
        assert other["verdict"] == "pass" and other["queued"] is False

"""``/v1/inspect`` scores an item against the catalog row of its ``product_id`` read as a
labels table reads it, without surrounding spaces ("P0001\\n" from a barcode scanner is
P0001), but the review queue recorded the text as sent. ``inspect train --feedback`` then
looked the reviewer's decision up in the catalog as "P0001\\n", found no row and trained the
item without a reference: a ``wrong_color`` or ``wrong_size`` decision taught with no colour or
size to compare against, on an item the station had checked against its catalog row."""

from __future__ import annotations

import warnings

from fastapi.testclient import TestClient

from serving.review import ReviewStore, with_feedback
from serving.service.app import create_app
from serving.service.config import ServiceConfig
from vision.catalog import Catalog
from vision.items import CatalogHandling, ItemLoader, ItemSet


def test_the_queue_records_the_product_the_station_scored_against(inspection_repo, tmp_path):
    repo, views = inspection_repo
    catalog = Catalog.read(repo / "inspection" / "1" / "catalog.csv")
    product = catalog.product_ids[0]
    config = ServiceConfig(reload_s=60, review_db=str(tmp_path / "review.db"))
    with TestClient(create_app(repo, config)) as client:
        # one view left out: the item is partial, so it is recorded whatever its scores say
        files = [(p.stem, (p.name, p.read_bytes(), "image/png")) for p in views[1:]]
        fields = {"product_id": f" {product}\n", "item_id": "u1", "sku": "S1", "location_id": "F"}
        answer = client.post("/v1/inspect", files=files, data=fields).json()
    assert not any("catalog" in e for e in answer["errors"])  # scored with its reference
    assert answer["queued"] or answer["recorded"]
    store = ReviewStore(tmp_path / "review.db")
    assert store.item("u1")["product_id"] == product
    if answer["queued"]:  # a person's decision becomes a label with the same reference
        store.decide("u1", "pass", "ana")
        base = ItemSet(tmp_path, "tunnel", [], tuple(answer["scores"]), (), catalog)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            merged, added = with_feedback(base, store)
        assert added == 1
        handling = CatalogHandling("reference", catalog, catalog.size_scale())
        views_of = tuple(v["view"] for v in answer["views"])
        loaded = ItemLoader(merged, views_of, 32, catalog=handling).load(0)
        assert loaded["catalog"][0] == 1.0, loaded["errors"]

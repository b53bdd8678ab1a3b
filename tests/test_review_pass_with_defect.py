"""A review decision ``pass`` sent with a defect class is refused, naming ``defect``.

Before, the defect was dropped without a word and the item stored (and later trained on) as
good, although the client named a defect (a reject meant, or a wrong button).
"""

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from serving.review import ReviewError, ReviewStore
from vision.schema import CLASS_NAMES


def _store(tmp_path):
    store = ReviewStore(tmp_path / "review.db")
    items = pd.DataFrame(
        {"item_id": ["A1", "B2"], "sku": "7", "location_id": "FC1", "product_id": None,
         "reasons": ""}
    )  # fmt: skip
    store.enqueue(items, {})
    return store


def test_pass_with_a_defect_is_refused(tmp_path):
    store = _store(tmp_path)
    with pytest.raises(ReviewError, match=r"^defect: a pass"):
        store.decide("A1", "pass", "ana", CLASS_NAMES[0])
    assert [i["item_id"] for i in store.queue()] == ["A1", "B2"]  # still waiting
    assert store.decide("A1", "pass", "ana")["defect"] is None  # as the review page sends it
    assert store.decide("B2", "pass", "ana", "")["defect"] is None  # a form's empty choice


def test_pass_with_a_defect_is_422_from_the_service(tmp_path):
    from fastapi import FastAPI

    from serving.service.pages import pages_router

    _store(tmp_path)
    app = FastAPI()
    app.include_router(pages_router(str(tmp_path / "review.db"), None))
    client = TestClient(app)
    answer = client.post(
        "/v1/review/items/A1/decision",
        json={"decision": "pass", "defect": CLASS_NAMES[0], "reviewer": "ana"},
    )
    assert answer.status_code == 422 and "defect" in answer.json()["detail"]
    answer = client.post(
        "/v1/review/items/A1/decision", json={"decision": "reject", "reviewer": "ana"}
    )
    assert answer.status_code == 422 and "defect" in answer.json()["detail"]
    answer = client.post(
        "/v1/review/items/A1/decision", json={"decision": "pass", "defect": None, "reviewer": "a"}
    )
    assert answer.status_code == 200

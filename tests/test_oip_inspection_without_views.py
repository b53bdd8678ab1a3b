"""An OIP v2 inspection request whose ``view_mask`` row has no view present: the graph's fusion
has nothing to fuse and answers 0 for every class, a confident pass (200, item_scores [0, 0, 0,
0] on a tiny package), where the station marks such an item failed (review) and ``/v1/inspect``
refuses it. The service refuses it too, naming the row."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # the shared tiny inspection package (fitted once per session)


def test_an_item_without_a_view_is_refused_not_scored_a_pass(inspect_client):
    client, _ = inspect_client
    meta = client.get("/v2/models/inspection").json()
    views, size = meta["inputs"][0]["shape"][1], meta["inputs"][0]["shape"][2]
    pixels = np.random.default_rng(0).integers(0, 256, (2, views, size, size, 3))

    def infer(masks):
        body = {"inputs": [
            {"name": "images", "datatype": "UINT8", "shape": [2, views, size, size, 3],
             "data": pixels.ravel().tolist()},
            {"name": "view_mask", "datatype": "FP32", "shape": [2, views],
             "data": [v for mask in masks for v in mask]},
            {"name": "catalog", "datatype": "FP32", "shape": [2, 7], "data": [0.0] * 14},
        ], "outputs": [{"name": "item_scores"}]}  # fmt: skip
        return client.post("/v2/models/inspection/infer", json=body)

    one = [1.0] + [0.0] * (views - 1)
    answer = infer([one, one])
    assert answer.status_code == 200, answer.text
    for absent in (0.0, -1.0):
        answer = infer([one, [absent] * views])
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert "view_mask" in detail and "row 1" in detail and "no view present" in detail

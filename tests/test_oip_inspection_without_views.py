"""An OIP v2 inspection request whose ``view_mask`` row has no view present: the graph's fusion
has nothing to fuse and answers 0 for every class, a confident pass (200, item_scores [0, 0, 0,
0] on a tiny package), where the station marks such an item failed (review) and ``/v1/inspect``
refuses it. The service refuses it too, naming the row."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

from serving.export import export_run
from serving.service.app import create_app
from serving.service.config import ServiceConfig
from training import ImageTrainConfig
from vision import Inspector
from vision.synthetic import write_synthetic_dataset

pytestmark = pytest.mark.slow  # fits and exports a tiny run


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("oip_without_views")
    tunnel = write_synthetic_dataset(root / "tunnel", 12, image_size=32, progress=False)
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, image_size=32, head_dim=16, target_frr=0.2, train=fast)
    good = write_synthetic_dataset(
        root / "good", 8, seed=22, image_size=32, defect_rate=0.0, progress=False
    )
    inspector.fit(tunnel, run_dir=root / "run").calibrate(good, progress=False)
    export_run(root / "run", root / "repo", "inspection")
    return root / "repo"


def test_an_item_without_a_view_is_refused_not_scored_a_pass(repo):
    with TestClient(create_app(repo, ServiceConfig(reload_s=60))) as client:
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

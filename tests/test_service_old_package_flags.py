"""An inspection package exported before 2026-12-06 holds a graph that reads ``view_mask`` as a
weight (the fusion's mean multiplied each view's logits by it) and the catalog's presence flag as
a number. The service documents both as flags (above 0 present, anything else absent) and serves
old packages as they are, so an OIP v2 client's -1 for a missing view was subtracted from the
mean and a 2 counted a view twice: scores silently different from the 0/1 answer. The service
hands every inspection graph 0/1 flags."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

import vision.model
from serving.export import export_run
from serving.service.app import create_app
from serving.service.config import ServiceConfig
from training import ImageTrainConfig
from vision import Inspector
from vision.synthetic import write_synthetic_dataset


def _old_fuse_views(view_logits, view_mask, mix, bias):
    """fuse_views as packages exported before 2026-12-06 15:37 hold it: the mask a weight."""
    import torch

    weight = view_mask.to(view_logits.dtype).unsqueeze(-1)
    count = weight.sum(dim=1).clamp_min(1.0)
    mean = (view_logits * weight).sum(dim=1) / count
    top = view_logits.masked_fill(weight <= 0, -1e4).amax(dim=1)
    alpha = torch.sigmoid(mix)
    return alpha * top + (1 - alpha) * mean + bias


@pytest.fixture(scope="module")
def old_repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("old_inspection")
    tunnel = write_synthetic_dataset(root / "tunnel", 12, image_size=32, progress=False)
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, image_size=32, head_dim=16, target_frr=0.2, train=fast)
    good = write_synthetic_dataset(
        root / "good", 8, seed=22, image_size=32, defect_rate=0.0, progress=False
    )
    inspector.fit(tunnel, run_dir=root / "run").calibrate(good, progress=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(vision.model, "fuse_views", _old_fuse_views)
        export_run(root / "run", root / "repo", "inspection")
    return root / "repo"


def test_an_old_inspection_graph_reads_view_mask_values_as_flags(old_repo):
    with TestClient(create_app(old_repo, ServiceConfig(reload_s=60))) as client:
        meta = client.get("/v2/models/inspection").json()
        views, size = meta["inputs"][0]["shape"][1], meta["inputs"][0]["shape"][2]
        pixels = np.random.default_rng(0).integers(0, 256, (1, views, size, size, 3))

        def scores(mask, flag=1.0):
            body = {"inputs": [
                {"name": "images", "datatype": "UINT8", "shape": [1, views, size, size, 3],
                 "data": pixels.ravel().tolist()},
                {"name": "view_mask", "datatype": "FP32", "shape": [1, views], "data": mask},
                {"name": "catalog", "datatype": "FP32", "shape": [1, 7],
                 "data": [flag, 0.8, 0.2, 0.2, 4.0, 5.0, 3.0]},
            ], "outputs": [{"name": "item_scores"}]}  # fmt: skip
            answer = client.post("/v2/models/inspection/infer", json=body)
            assert answer.status_code == 200, answer.text
            return np.asarray(answer.json()["outputs"][0]["data"])

        flags = [1.0] * (views - 1) + [0.0]
        reference = scores(flags)
        for mask in (flags[:-1] + [-1.0], [2.0] + flags[1:], [0.5] + flags[1:]):
            assert np.allclose(scores(mask), reference, atol=1e-6), mask
        assert np.allclose(scores(flags, 2.0), reference, atol=1e-6)
        assert np.allclose(scores(flags, -1.0), scores(flags, 0.0), atol=1e-6)

"""The queue-depth gauge was set at each scrape for the models served, and by each request, but
never for a model a reload had removed: a model rolled back while requests waited went on
reading its last depth (an idle service said 6 requests waiting, for good). A scrape now drops
the series of a model no longer served."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient

from serving.service.app import create_app
from serving.service.config import ServiceConfig
from serving.service.repository import Snapshot


def _queue(text: str) -> dict[str, str]:
    prefix = "stockcast_queue_depth{model="
    return {
        line[len(prefix) :].split("}")[0].strip('"'): line.rsplit(" ", 1)[1]
        for line in text.splitlines()
        if line.startswith(prefix)
    }


def test_a_removed_model_no_longer_reports_requests_waiting(tmp_path):
    (tmp_path / "repo").mkdir()

    def served(depth: int) -> SimpleNamespace:
        batcher = SimpleNamespace(depth=lambda: depth)
        return SimpleNamespace(provider="CPUExecutionProvider", batcher=batcher)

    app = create_app(tmp_path / "repo", ServiceConfig(reload_s=60))
    with TestClient(app) as client:
        app.state.repository.snapshot = Snapshot(
            {"lstm": {"1": served(0)}, "old": {"1": served(6)}}
        )
        assert _queue(client.get("/metrics").text) == {"lstm": "0.0", "old": "6.0"}
        app.state.repository.snapshot = Snapshot({"lstm": {"1": served(0)}})  # 'old' rolled back
        assert _queue(client.get("/metrics").text) == {"lstm": "0.0"}

"""Every model version a hot reload replaced kept its ``stockcast_model_provider`` series (read
0) for good: the version number is a label value, so a service reloading a new export every
night grew one series a night, in its memory and in every scrape, without end (300 reloads:
300 series). A version gone reads 0 until ``RETIRED_KEPT`` later ones are gone, then its
series are dropped."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient

from serving.service.app import Metrics, create_app
from serving.service.config import ServiceConfig
from serving.service.repository import Snapshot

KEPT = 40  # versions gone whose series may remain (the service keeps 16)


def _versions(metrics: Metrics) -> dict[str, float]:
    return {s.labels["version"]: s.value for s in metrics.provider.collect()[0].samples}


def test_provider_series_stay_bounded_over_many_versions():
    metrics = Metrics()
    for version in range(1, 301):
        metrics.show_provider("lstm", str(version), "CUDAExecutionProvider")
        metrics.show_provider("lstm", str(version), "CPUExecutionProvider")  # a fallback
        metrics.show_provider("lstm", str(version - 1), None)  # the one it replaced, gone
    shown = _versions(metrics)
    assert len(metrics.provider.collect()[0].samples) <= 2 * (KEPT + 1)
    assert shown["300"] == 1.0  # the served one
    assert shown["299"] == 0.0  # a recent one gone still reads 0
    assert "1" not in shown and "100" not in shown


def test_a_version_served_again_keeps_its_series():
    metrics = Metrics()
    metrics.show_provider("lstm", "1", "CPUExecutionProvider")
    metrics.show_provider("lstm", "1", None)
    metrics.show_provider("lstm", "1", "CPUExecutionProvider")  # its folder came back
    for version in range(2, KEPT + 10):
        metrics.show_provider("lstm", str(version), "CPUExecutionProvider")
        metrics.show_provider("lstm", str(version), None)
    assert _versions(metrics)["1"] == 1.0


def test_reloads_of_the_service_keep_metrics_bounded(tmp_path):
    (tmp_path / "repo").mkdir()
    app = create_app(tmp_path / "repo", ServiceConfig(reload_s=60))
    repository = app.state.repository
    with TestClient(app) as client:
        before = None
        for version in range(1, 81):
            loaded = SimpleNamespace(name="lstm", version=str(version), batcher=None,
                                     provider="CPUExecutionProvider")  # fmt: skip
            old = repository.snapshot.models.get("lstm", {})
            repository.snapshot = Snapshot({"lstm": {str(version): loaded}})
            repository.on_change([loaded], list(old.values()))
            lines = client.get("/metrics").text.count("stockcast_model_provider{")
            before = lines if version == 1 else before
        assert lines <= before + KEPT

"""The Prometheus gauge of each model version's provider was set when the version loaded, so
after onnxruntime moved a session to the CPU on a provider failure in a run (``EPFail``) it
went on saying CUDA, where the answers and the CLI already read the session. Each scrape
labels the provider the version runs on now, and the one labelled before 0."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient

from serving.service.app import create_app
from serving.service.config import ServiceConfig
from serving.service.repository import Snapshot


def _gauge(text: str, provider: str) -> str | None:
    key = f'stockcast_model_provider{{model="lstm",provider="{provider}",version="1"}} '
    line = next((ln for ln in text.splitlines() if ln.startswith(key)), None)
    return None if line is None else line[len(key) :]


def test_a_scrape_reports_the_provider_a_version_runs_on_now(tmp_path):
    (tmp_path / "repo").mkdir()
    session = SimpleNamespace(provider="CUDAExecutionProvider", batcher=None)
    app = create_app(tmp_path / "repo", ServiceConfig(reload_s=60))
    with TestClient(app) as client:
        app.state.repository.snapshot = Snapshot({"lstm": {"1": session}})
        text = client.get("/metrics").text
        assert _gauge(text, "CUDAExecutionProvider") == "1.0"
        session.provider = "CPUExecutionProvider"  # a run failed on the GPU
        text = client.get("/metrics").text
        assert _gauge(text, "CPUExecutionProvider") == "1.0"
        assert _gauge(text, "CUDAExecutionProvider") == "0.0"


def test_a_removed_version_reads_zero_under_the_provider_it_showed():
    from serving.service.app import Metrics

    metrics = Metrics()
    metrics.show_provider("lstm", "1", "CUDAExecutionProvider")
    metrics.show_provider("lstm", "1", "CPUExecutionProvider")
    metrics.show_provider("lstm", "1", None)
    samples = {s.labels["provider"]: s.value for s in metrics.provider.collect()[0].samples}
    assert samples == {"CUDAExecutionProvider": 0.0, "CPUExecutionProvider": 0.0}

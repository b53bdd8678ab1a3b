"""Shared fixtures: small synthetic panels and the shared real data (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# Two cores on CI: one intra-op thread per process keeps parallel tools from oversubscribing.
torch.set_num_threads(int(os.environ.get("STOCKCAST_TEST_THREADS", "2")))

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
M5_TINY = SHARED_DATA / "m5_tiny.parquet"


@pytest.fixture(scope="session")
def m5_path() -> Path:
    if not M5_TINY.exists():
        pytest.skip(f"shared data not found at {M5_TINY} (a fresh clone has no ../shared)")
    return M5_TINY


@pytest.fixture(scope="session")
def small_network():
    from forecasting.synthetic import generate_network

    return generate_network(n_items=24, n_locations=3, n_days=240, seed=7, future_days=14)


@pytest.fixture(scope="session")
def lstm_package(small_network, tmp_path_factory):
    """A small LSTM run on the synthetic network and its ONNX package (exported once)."""
    from forecasting import Forecaster
    from serving.export import export_run
    from training import TrainConfig

    root = tmp_path_factory.mktemp("lstm_package")
    train = TrainConfig(max_epochs=2, batches_per_epoch=3, batch_size=32, progress_bar=False)
    forecaster = Forecaster("lstm", 7, spec=small_network.spec, train=train, hidden_size=8)
    forecaster.fit(small_network.to_frame(), run_dir=root / "runs" / "lstm")
    package = export_run(root / "runs" / "lstm", root / "repo")
    return forecaster, package, root


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """``stockcast demo --quick`` once per session (the report, packages, plan, review queue)."""
    from serving.cli import main

    out = tmp_path_factory.mktemp("demo") / "run"
    assert main(["demo", "--quick", "--out", str(out), "--no-progress"]) == 0
    return out

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

"""The MASE scale and the demand class read each window's whole history a chunk of windows at a
time.

At once, a backtest origin held several (windows x periods) copies of the panel's target: the
rows gathered, the mask before the origin, the history blanked after it, its differences and
nansum's copy of them, 4.5 times the target (36 GB for a million series of 2,000 days). The
results are those of the whole batch (a reference computed in one piece).
"""

from __future__ import annotations

import tracemalloc
import types

import numpy as np
import torch

from forecasting import metrics


def _store(n_series: int, n_periods: int):
    rng = np.random.default_rng(0)
    target = rng.poisson(rng.gamma(1.0, 2.0, size=(n_series, 1)), size=(n_series, n_periods))
    target = target.astype(np.float32)
    target[:, : n_periods // 10] = np.nan  # launched later
    target[::7] = 0.0  # never sold
    return types.SimpleNamespace(target=torch.from_numpy(target), device=torch.device("cpu"))


def test_history_reads_are_chunked(monkeypatch):
    store = _store(600, 1000)
    series = torch.arange(600).flip(0)
    origins = torch.from_numpy(np.random.default_rng(1).integers(0, 1000, 600))
    whole_scale = metrics.mase_scale(store, series, origins, 7)
    whole_class = metrics.demand_classes(store, series, origins)
    monkeypatch.setattr(metrics, "_CHUNK_CELLS", 2**15, raising=False)  # 32 series at a time
    for run, whole in (
        (lambda: metrics.mase_scale(store, series, origins, 7), whole_scale),
        (lambda: metrics.demand_classes(store, series, origins), whole_class),
    ):
        tracemalloc.start()
        try:
            got = run()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        np.testing.assert_array_equal(got, whole)
        # Was 3.5 times the target (8.4 MB) in NumPy's temporaries alone.
        assert peak < store.target.numpy().nbytes / 2, f"peak {peak / 1e6:.1f} MB"

"""The lead-time warning of a baseline names the series with fewer than K errors of their
K-period sums, counted as the baselines count them.

The moving average warned below 2 K + its window of history (42 days for K = 7): a 30-day
series with 23 such errors was said to rest on fewer than 7. Seasonal naive warned one period
early (2 K + season - 1 periods give K errors).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting import PanelSpec
from forecasting.models import MovingAverage, SeasonalNaive
from forecasting.store import PanelStore
from training.forecaster import _few_sum_errors

K, SEASON, WINDOW, T = 7, 7, 28, 80
HISTORIES = list(range(10, 26)) + [30, 41, 45]


def _store() -> PanelStore:
    y = np.full((len(HISTORIES), T), np.nan, dtype=np.float32)
    for i, h in enumerate(HISTORIES):
        y[i, T - h :] = 3.0
    keys = pd.DataFrame({"item_id": [f"h{h}" for h in HISTORIES], "location_id": "fc"})
    return PanelStore.from_arrays(PanelSpec(), pd.date_range("2024-01-01", periods=T), y, keys)


def _errors(y: np.ndarray, model) -> int:
    """Finite K-period sum errors from the error_window latest origins, by the definition."""

    def at(t):
        return y[t] if t >= 0 else np.nan

    def point(o, j):
        if isinstance(model, SeasonalNaive):
            return at(o + j - (j // SEASON + 1) * SEASON)
        window = [at(t) for t in range(o - WINDOW, o)]
        return np.nan if np.isnan(window).all() else np.nanmean(window)

    origins = range(T - K - model.error_window + 1, T - K + 1)
    return sum(np.isfinite(sum(at(o + j) - point(o, j) for j in range(K))) for o in origins)


@pytest.mark.parametrize(
    "model", [SeasonalNaive(K, SEASON), MovingAverage(K, WINDOW)], ids=lambda m: m.name
)
def test_warning_names_the_series_with_fewer_than_k_errors(model):
    store = _store()
    y = store.target.numpy()
    few = sum(_errors(y[i], model) < K for i in range(len(HISTORIES)))
    series = torch.arange(len(HISTORIES))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _few_sum_errors(model, store, series, store.end[series], K)
    said = [re.match(r".*?: (\d+) of", str(w.message)) for w in caught]
    assert [int(m.group(1)) for m in said if m] == ([few] if few else [])

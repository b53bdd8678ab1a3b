"""An observed-only real stored once for several series (a shared row: web traffic per FC) is
known up to the forecast origin only, as a series' own row is: values the arrays hold for later
periods, and the last value carried over the future periods, must not reach the forecast
through the row's z-score."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from forecasting import PanelSpec
from forecasting.store import PanelStore
from forecasting.windows import make_batch

S, HISTORY, FUTURE = 3, 30, 6


def _store(views: np.ndarray, rows) -> PanelStore:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=HISTORY + FUTURE, freq="D")
    target = np.full((S, HISTORY + FUTURE), np.nan, np.float32)
    target[:, :HISTORY] = rng.poisson(5, (S, HISTORY))
    keys = pd.DataFrame({"item_id": [f"i{s}" for s in range(S)], "location_id": "L"})
    spec = PanelSpec(freq="D", observed_reals=("views",), calendar=False)
    return PanelStore.from_arrays(
        spec, dates, target, keys, observed_real=[(views.copy(), rows)],
        vocab={"item_id": [f"i{s}" for s in range(S)], "location_id": ["L"]},
    )  # fmt: skip


def _encoder(store: PanelStore) -> torch.Tensor:
    series = torch.arange(S)
    origins = torch.full((S,), HISTORY)
    batch = make_batch(store, series, origins, 10, FUTURE, 1.0, with_target=False)
    return batch["encoder_real"]


def _views(future: float) -> np.ndarray:
    views = np.random.default_rng(1).gamma(2.0, 5.0, (S, HISTORY + FUTURE, 1))
    views[:, HISTORY:] = future
    return views.astype(np.float32)


def test_a_shared_observed_row_is_scaled_over_the_history_alone():
    own = _encoder(_store(_views(np.nan), None))
    # The same values, each series reading its own row through the rows index.
    shared = _encoder(_store(_views(np.nan), np.arange(S)))
    # Reference: z-score over the 30 history periods only (numpy, population std).
    raw = _views(np.nan)[:, :HISTORY, 0].astype(np.float64)
    expected = (raw - raw.mean(axis=1, keepdims=True)) / raw.std(axis=1, keepdims=True)
    np.testing.assert_allclose(own[:, :, 0].numpy(), expected[:, -10:], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(shared[:, :, 0].numpy(), expected[:, -10:], rtol=1e-5, atol=1e-5)


def test_future_values_of_a_shared_observed_row_do_not_reach_the_encoder():
    blank = _encoder(_store(_views(np.nan), np.arange(S)))
    recorded = _encoder(_store(_views(1000.0), np.arange(S)))
    np.testing.assert_array_equal(recorded.numpy(), blank.numpy())

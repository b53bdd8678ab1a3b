"""Reals are z-scored about their float64 mean: the mean rounded to float32 first was off by
up to half a float32 step of the level, so a price of 1299.99 with a one-cent cut (std 0.004)
read 0.013 std off at every period, and a forecast (the store as of its origin) read its
prices otherwise than the training windows (z-scored in float64) had."""

import numpy as np
import pandas as pd
import torch

from forecasting import Forecaster, PanelSpec
from forecasting.grid import standardize_history, standardize_static
from forecasting.windows import make_batch

PRICES = np.r_[np.full(300, 1299.99), np.full(64, 1299.98)].astype(np.float32)


def _reference(values: np.ndarray) -> np.ndarray:
    x = values.astype(np.float64)
    return (x - x.mean()) / x.std()


def test_history_zscore_matches_float64_definition():
    z = standardize_history(PRICES[None, :, None].copy(), np.array([len(PRICES)]))[0, :, 0]
    np.testing.assert_allclose(z, _reference(PRICES), atol=1e-5)
    # values one float32 step apart: -1 and 1 (were 0 and 2)
    step = np.tile(np.array([1e6, 1e6 + 0.0625], np.float32), 10)
    z = standardize_history(step[None, :, None].copy(), np.array([20]))[0, :, 0]
    np.testing.assert_allclose(z, _reference(step), atol=1e-5)


def test_static_zscore_matches_float64_definition():
    z = standardize_static(PRICES[:, None].copy())[:, 0]
    np.testing.assert_allclose(z, _reference(PRICES), atol=1e-5)


def test_forecast_reads_prices_as_training_windows_do():
    dates = pd.date_range("2024-01-01", periods=len(PRICES), freq="D")
    spec = PanelSpec(freq="D", known_reals=("price",))
    frame = pd.DataFrame(
        {"item_id": "a", "location_id": "X", "date": dates,
         "demand": np.arange(len(PRICES)) % 3 * 1.0, "price": PRICES}
    )  # fmt: skip
    store = Forecaster("lstm", 7, spec=spec)._store_for(frame)
    series, origin = torch.tensor([0]), len(PRICES) - 7
    origins = torch.tensor([origin])
    trained = make_batch(store, series, origins, 28, 7, 1.0, reals_as_of=True)
    forecast = make_batch(store.as_of(origin, 7), series, origins, 28, 7, 1.0)
    for key in ("encoder_real", "decoder_real"):
        torch.testing.assert_close(forecast[key], trained[key], atol=1e-4, rtol=0)

"""A known real that is flat over the periods it is z-scored by reads 0 (the documented rule:
a flat window scales by 1), whatever its value: in float32 a price of 13.02 every day had a
std of 2e-6, read -1 throughout, and a later change of a cent read about -15000."""

import numpy as np
import pandas as pd
import torch

from forecasting import Forecaster, PanelSpec
from forecasting.grid import standardize_history
from forecasting.windows import make_batch


def test_flat_history_reads_zero_and_a_cent_reads_a_cent():
    for price in np.round(np.random.default_rng(0).uniform(0.5, 100, 300), 2):
        values = np.r_[np.full(20, price), np.full(3, price - 0.01)]
        values = values.astype(np.float32)[None, :, None]
        z = standardize_history(values.copy(), np.array([20]))[0, :, 0]
        # reference: mean = price, std = 0 -> scaled by 1
        np.testing.assert_allclose(z[:20], 0.0, atol=1e-5)
        np.testing.assert_allclose(z[20:], -0.01, atol=1e-4)


def test_a_forecast_window_does_not_depend_on_the_flat_price_level():
    dates = pd.date_range("2024-01-01", periods=40, freq="D")
    spec = PanelSpec(freq="D", known_reals=("price",))
    batches = []
    for price in (13.02, 3.18):
        frame = pd.DataFrame(
            {"item_id": "a", "location_id": "X", "date": dates,
             "demand": np.r_[np.arange(33) % 3 * 1.0, [np.nan] * 7], "price": price}
        )  # fmt: skip
        store = Forecaster("lstm", 7, spec=spec)._store_for(frame)
        batches.append(make_batch(store, torch.tensor([0]), torch.tensor([33]), 14, 7, 1.0))
    for key in ("encoder_real", "decoder_real"):
        torch.testing.assert_close(batches[0][key], batches[1][key], atol=1e-5, rtol=0)

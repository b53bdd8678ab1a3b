"""Training windows read their real covariates as a table at their origin has them: a price
z-scored by the series' history before the origin (what predict on that table, the backtest
and the package give), not over the whole training history (prices published after the
origin moved the z-scores training read: up to 147 z apart on the synthetic network)."""

import numpy as np
import pandas as pd
import torch

import forecasting.windows as windows
from forecasting import Forecaster, PanelSpec
from forecasting.windows import WindowSampler

H, L, T = 7, 14, 120


def test_training_windows_read_prices_as_a_table_at_their_origin(monkeypatch):
    dates = pd.date_range("2024-01-01", periods=T, freq="D")
    frame = pd.DataFrame(
        {
            "item_id": "a",
            "location_id": "X",
            "date": dates,
            "demand": np.arange(T) % 4 * 1.0,
            "price": np.r_[np.full(60, 10.0), np.linspace(10, 30, T - 60)] + np.arange(T) % 3,
            "views": 100.0 + np.arange(T) ** 1.5,
        }
    )
    spec = PanelSpec(freq="D", known_reals=("price",), observed_reals=("views",))
    forecaster = Forecaster("lstm", H, spec=spec)
    store = forecaster.store(frame)
    cut, make_batch = [], windows.make_batch

    def spy(store, series, origins, *args, **kwargs):
        batch = make_batch(store, series, origins, *args, **kwargs)
        cut.append((series, origins, batch))
        return batch

    monkeypatch.setattr(windows, "make_batch", spy)
    sampler = WindowSampler(store, L, H, 16, 2, 1.0, cutoff=T - H, min_encoder_length=7)
    list(sampler)
    checked = 0
    for _series, origins, batch in cut:
        for b, t0 in enumerate(origins.tolist()):
            # the table a forecast from t0 reads: history before it, H future rows
            live = frame[frame["date"] < dates[t0 + H]].copy()
            live.loc[live["date"] >= dates[t0], ["demand", "views"]] = np.nan
            live_store = forecaster._store_for(live)
            expected = make_batch(
                live_store, torch.tensor([0]), torch.tensor([t0]), L, H, 1.0, with_target=False
            )
            for key in ("encoder_real", "decoder_real"):
                torch.testing.assert_close(
                    batch[key][b : b + 1], expected[key], atol=1e-4, rtol=1e-4, msg=key
                )
            checked += 1
    assert checked == 32

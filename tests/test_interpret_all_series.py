"""Forecaster.interpret (and `stockcast forecast interpret`) averages over every series of the
panel: it used only the first 2000 series in key order and dropped the rest silently."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from forecasting import Forecaster, PanelSpec
from forecasting.interpret import in_column_names, interpret_windows
from training import TrainConfig
from training.forecaster import forecast_origins


def test_interpret_reads_every_series():
    rng = np.random.default_rng(0)
    n, periods = 2100, 30
    items = [f"A{i:05d}" for i in range(n)]
    promo = rng.integers(0, 2, size=(n, periods))
    steady = np.arange(n)[:, None] < 2000  # the items after the first 2000 sell on promo only
    demand = np.where(steady, rng.poisson(5, (n, periods)), promo * rng.poisson(20, (n, periods)))
    demand = demand.astype(float)
    demand[:, -7:] = np.nan  # the horizon's rows: the promotions known ahead, as predict reads
    frame = pd.DataFrame(
        {
            "item_id": np.repeat(items, periods),
            "location_id": "L",
            "date": np.tile(pd.date_range("2024-01-01", periods=periods, freq="D"), n),
            "demand": demand.ravel(),
            "promo": promo.ravel(),
        }
    )
    spec = PanelSpec(freq="D", known_reals=("promo",), calendar=False, key_embeddings=False)
    train = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=16, progress_bar=False)
    forecaster = Forecaster(
        "tft", 7, spec=spec, train=train, hidden_size=8, encoder_length=14, min_encoder_length=7
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecaster.fit(frame)
        importance, attention = forecaster.interpret(frame)
    model = forecaster.model_
    store = forecaster._store_for(frame)
    series, origins = forecast_origins(store)
    assert len(series) == n
    # Reference: every series' forecast window.
    expected, expected_attention = interpret_windows(
        model.net, store, series, origins, model.encoder_length, 7, model.priors(store, origins)
    )
    expected = in_column_names(expected, store.spec)  # 'target' is the table's 'demand'
    got = importance.set_index(["kind", "variable"])["importance"]
    want = expected.set_index(["kind", "variable"])["importance"]
    np.testing.assert_allclose(got[want.index].to_numpy(), want.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(attention["weight"], expected_attention["weight"], atol=1e-6)


def test_a_series_cap_samples_across_the_panel(monkeypatch):
    """With ``max_series``, the windows read are a sample of the whole panel, not its first
    series by key (one department of a sorted panel)."""
    import training.forecaster as module

    frame = pd.DataFrame(
        {
            "item_id": np.repeat([f"A{i:03d}" for i in range(40)], 30),
            "location_id": "L",
            "date": np.tile(pd.date_range("2024-01-01", periods=30, freq="D"), 40),
            "demand": np.random.default_rng(1).poisson(5, 40 * 30).astype(float),
        }
    )
    spec = PanelSpec(freq="D", calendar=False, key_embeddings=False)
    train = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=16, progress_bar=False)
    forecaster = Forecaster("tft", 7, spec=spec, train=train, hidden_size=8, encoder_length=14)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecaster.fit(frame)
    seen = []
    real = module.interpret_windows

    def spy(net, store, series, *args):
        seen.append(series.tolist())
        return real(net, store, series, *args)

    monkeypatch.setattr(module, "interpret_windows", spy)
    forecaster.model_.interpret(forecaster._store_for(frame), max_series=10)
    assert len(seen[0]) == 10 and len(set(seen[0])) == 10 and max(seen[0]) >= 20

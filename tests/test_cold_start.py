"""Cold start: new items borrow from similar ones; a backtest mode hides items and scores them."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting import ForecastConfig, Forecaster, PanelSpec
from forecasting.backtest import backtest, hide_items
from forecasting.models import SeasonalNaive
from forecasting.store import UNKNOWN
from forecasting.synthetic import generate_network
from forecasting.windows import group_prior_scale
from training.config import TrainConfig
from training.forecaster import NeuralForecaster

H = 14


@pytest.fixture(scope="module")
def store():
    return generate_network(60, 3, 300, seed=11, cold_start_fraction=0.0).to_store()


def test_hide_items_removes_history_and_identity(store):
    hidden_store, hidden = hide_items(store, 0.2, seed=0)
    items = store.keys["item_id"].iloc[hidden.numpy()].unique()
    assert len(items) == 12 and len(hidden) == 12 * 3  # whole items, at every FC
    assert torch.isnan(hidden_store.target[hidden]).all()
    assert (hidden_store.end[hidden] == 0).all()
    item_column = store.static_cat_names.index("item_id")
    assert (hidden_store.static_cat[hidden, item_column] == UNKNOWN).all()
    # The original store is untouched.
    assert torch.isfinite(store.target[hidden]).any()


def test_new_items_start_from_their_peers_level(store):
    hidden_store, hidden = hide_items(store, 0.2, seed=0)
    prior = group_prior_scale(hidden_store)
    # The level a hidden item borrows is its peers' (same FC, category...), not the panel's.
    true_level = torch.nanmean(store.target[hidden], dim=1)
    global_level = torch.nanmean(hidden_store.target)
    peer_error = (prior[hidden] - true_level).abs().mean()
    global_error = (global_level - true_level).abs().mean()
    assert peer_error < global_error


@pytest.mark.slow
def test_cold_start_backtest_scores_hidden_items(store):
    train = TrainConfig(max_epochs=6, batches_per_epoch=20, batch_size=64, progress_bar=False)
    lstm = NeuralForecaster(ForecastConfig("lstm", H, hidden_size=32), train)
    result = backtest(
        store, [SeasonalNaive(H), lstm], H, n_origins=2, cold_start=0.2, progress=False
    )
    history = result.metrics[result.metrics["segment_type"] == "history"].set_index(
        ["model", "segment"]
    )
    assert history.loc[("lstm", "cold"), "n_windows"] == 2 * 12 * 3
    # Seasonal naive has nothing to repeat for a new item (it forecasts 0: WAPE 1, bias -1); the
    # network forecasts from the item's department and FC: a better distribution, not nothing.
    assert history.loc[("seasonal_naive", "cold"), "bias"] == pytest.approx(-1.0)
    assert history.loc[("lstm", "cold"), "sql"] < history.loc[("seasonal_naive", "cold"), "sql"]
    assert history.loc[("lstm", "cold"), "bias"] > -0.9
    cold = result.windows[
        (result.windows["history"] == "cold") & (result.windows["model"] == "lstm")
    ]
    assert np.isfinite(cold["sql"]).all()


NEW_ITEM_H = 7


def test_item_without_history_in_training_table_forecasts_as_unseen_item():
    sales = generate_network(
        n_items=4,
        n_locations=2,
        n_days=100,
        future_days=NEW_ITEM_H,
        seed=1,
        cold_start_fraction=0.0,
    ).to_frame()
    last = sales.loc[sales["demand"].notna(), "date"].max()
    proto = sales[(sales["item_id"] == "SKU000000") & (sales["location_id"] == "FC000")]
    future = proto[proto["date"] > last].assign(item_id="NEW", demand=np.nan)
    spec = PanelSpec(static_categoricals=("category", "region"), known_reals=("price",))
    train = TrainConfig(
        max_epochs=2, batches_per_epoch=4, batch_size=32, progress_bar=False, seed=0
    )
    forecaster = Forecaster("lstm", horizon=NEW_ITEM_H, spec=spec, train=train, hidden_size=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecaster.fit(pd.concat([sales, future], ignore_index=True))
        assert "NEW" in forecaster.model_.vocab["item_id"]
        known = forecaster.predict(pd.concat([sales, future], ignore_index=True))
        unseen = forecaster.predict(
            pd.concat([sales, future.assign(item_id="NEW2")], ignore_index=True)
        )
    columns = [c for c in known.columns if c.startswith("q")]
    a = known.loc[known["item_id"] == "NEW", columns].to_numpy()
    b = unseen.loc[unseen["item_id"] == "NEW2", columns].to_numpy()
    assert a.shape == b.shape == (NEW_ITEM_H, len(columns))
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # The items with history keep their own forecasts.
    np.testing.assert_allclose(
        known.loc[known["item_id"] != "NEW", columns].to_numpy(),
        unseen.loc[unseen["item_id"] != "NEW2", columns].to_numpy(),
        rtol=1e-5,
        atol=1e-6,
    )

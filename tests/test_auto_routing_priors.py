"""auto: a network's forecast of a series must not depend on which other windows the routing
sends to that network. Each network forecast its share of a request's windows and read the
peers' levels before the latest origin of that share: where a series' data stops earlier than
its peers' (a lagging feed), its forecast moved with the routing of unrelated series (a
series of another FC added to the request changed it)."""

import warnings

import numpy as np
import pandas as pd
import torch

from forecasting import Forecaster, PanelSpec
from forecasting.synthetic import generate_network
from training import TrainConfig
from training.forecaster import forecast_origins


def test_auto_forecast_does_not_depend_on_other_series_routing():
    warnings.simplefilter("ignore")
    torch.manual_seed(0)
    sales = generate_network(n_items=4, n_locations=2, n_days=90, future_days=7, seed=1)
    table = sales.to_frame()
    for column in ("item_id", "location_id"):
        table[column] = table[column].astype(str)
    items = sorted(table["item_id"].unique())
    locations = sorted(table["location_id"].unique())
    last = table.loc[table["demand"].notna(), "date"].max()
    late = table["date"] > last - pd.Timedelta(days=3)
    a = (table["item_id"] == items[0]) & (table["location_id"] == locations[0])
    # A's feed lags three days; its peers (same FC) sold a lot in those days.
    table.loc[a & late, "demand"] = np.nan
    peers = (table["location_id"] == locations[0]) & ~a & late & table["demand"].notna()
    table.loc[peers, "demand"] = 500.0
    fast = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False)
    forecaster = Forecaster(
        "auto", horizon=7, spec=PanelSpec(known_reals=("price",)), train=fast, hidden_size=8,
        auto_distributions=("quantile",),
    )  # fmt: skip
    forecaster.fit(table)
    auto = forecaster.model_
    # Routing: item 0 (A, and its copy at the other FC) to the LSTM, every other series to
    # seasonal naive.
    auto.choice = {}
    auto.fallback = "seasonal_naive"
    auto.overrides = [{"segment_type": "item_id", "segment": items[0], "model": "lstm"}]

    def forecast_of_a(frame: pd.DataFrame) -> np.ndarray:
        out = forecaster.predict(frame)
        row = (out["item_id"] == items[0]) & (out["location_id"] == locations[0])
        return out.loc[row].sort_values("step").filter(like="q").to_numpy()

    other_fc = (table["item_id"] == items[0]) & (table["location_id"] == locations[1])
    with_other = forecast_of_a(table)
    without_other = forecast_of_a(table[~other_fc])
    # Reference: the LSTM forecasting every window of the request (no routing).
    store = forecaster._store_for(table[~other_fc])
    series, origins = forecast_origins(store)
    alone = auto.networks["lstm"].predict_windows(store, series, origins)
    keys = store.keys
    index = np.flatnonzero((keys["item_id"] == items[0]) & (keys["location_id"] == locations[0]))
    np.testing.assert_allclose(without_other, alone[index[0]], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(without_other, with_other, rtol=1e-5, atol=1e-5)

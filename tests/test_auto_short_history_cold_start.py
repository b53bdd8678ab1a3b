"""auto: an item launched a few days ago is forecast with the networks' cold start, as one with
no history is, not with a baseline its class picks. Seasonal naive has no season of its to
repeat and no error to spread its quantiles: one launch day without a sale was forecast 0 at
every quantile over the whole horizon (a plan orders nothing for it), one of 5 units 5 at
every quantile, while the same item sent with no history at all started from its peers."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting import Forecaster, PanelSpec
from forecasting.synthetic import generate_network
from training import TrainConfig
from training.forecaster import forecast_origins

H = 7


def _table() -> tuple[pd.DataFrame, pd.Timestamp]:
    sales = generate_network(n_items=4, n_locations=2, n_days=90, future_days=H, seed=1)
    table = sales.to_frame()
    for column in ("item_id", "location_id"):
        table[column] = table[column].astype(str)
    last = table.loc[table["demand"].notna(), "date"].max()
    return table, last


def _launched(table: pd.DataFrame, last: pd.Timestamp, history: list[float]) -> pd.DataFrame:
    """The table with item NEW at its first FC, launched with ``history`` (its last days)."""
    first = table[(table["item_id"] == table["item_id"].min()) & (table["location_id"] == "FC000")]
    new = first[first["date"] > last - pd.Timedelta(days=len(history))].assign(item_id="NEW")
    new["demand"] = np.nan
    new.loc[new["date"] <= last, "demand"] = history
    return pd.concat([table, new], ignore_index=True)


def _auto(fit: bool, table: pd.DataFrame) -> Forecaster:
    fast = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False)
    forecaster = Forecaster(
        "auto", horizon=H, spec=PanelSpec(known_reals=("price",)), train=fast, hidden_size=8,
        auto_distributions=("quantile",), auto_gbm=False,
    )  # fmt: skip
    if fit:
        forecaster.fit(table)
    else:
        forecaster.model_ = forecaster._model(7)
        forecaster.model_._set_baselines(7)
    auto = forecaster.model_
    # The validation window's choice, as a small panel often makes it: seasonal naive.
    auto.choice, auto.fallback, auto.overrides = {}, "seasonal_naive", []
    return forecaster


@pytest.mark.parametrize("history", [[0.0], [5.0], [0.0, 0.0], [2.0, 7.0, 3.0]])
def test_an_item_launched_days_ago_is_routed_to_the_cold_start(history):
    warnings.simplefilter("ignore")  # NEW is unseen
    table, last = _table()
    forecaster = _auto(False, table)
    auto = forecaster.model_
    store = forecaster.store(_launched(table, last, history))
    series, origins = forecast_origins(store)
    chosen = auto.route(store, series, origins)
    new = (store.keys["item_id"] == "NEW").to_numpy()
    assert chosen[new].tolist() == [auto.cold_start_model()]
    # Series with a season of history or more keep their class's choice.
    assert set(chosen[~new]) == {"seasonal_naive"}


def test_a_week_of_history_keeps_the_class_choice():
    warnings.simplefilter("ignore")
    table, last = _table()
    forecaster = _auto(False, table)
    store = forecaster.store(_launched(table, last, [1.0, 0.0, 2.0, 0.0, 3.0, 1.0, 0.0]))
    series, origins = forecast_origins(store)
    assert set(forecaster.model_.route(store, series, origins)) == {"seasonal_naive"}


@pytest.mark.slow
def test_a_launch_day_without_a_sale_is_not_a_forecast_of_zero():
    warnings.simplefilter("ignore")
    torch.manual_seed(0)
    table, last = _table()
    forecaster = _auto(True, table)
    auto = forecaster.model_
    data = _launched(table, last, [0.0])
    out = forecaster.predict(data)
    new = out[out["item_id"] == "NEW"].sort_values("step").filter(like="q").to_numpy()
    assert new.shape == (H, len(auto.quantiles))
    assert (new[:, -1] > new[:, 0]).all()  # a spread, not one number at every level
    # Reference: the cold-start network forecasting the item's window itself.
    store = forecaster._store_for(data)
    series, origins = forecast_origins(store)
    network = auto.networks[auto.cold_start_model()]
    alone = network.predict_windows(store, series, origins, prior_cutoff=int(origins.max()))
    index = int(np.flatnonzero(store.keys["item_id"] == "NEW")[0])
    np.testing.assert_allclose(new, alone[index], rtol=1e-5, atol=1e-5)

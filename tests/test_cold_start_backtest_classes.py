"""A cold-start backtest classes a hidden item's windows by the history its forecasts had:
none ("no_history", as auto and predict class a new item). They were classed by the demand
the backtest hid, so a hidden item's cold forecasts were scored in "smooth", "lumpy"... beside
the warm windows of that class (tiny LSTM, 10 items: smooth WAPE 0.717 with them, 0.575
without)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from forecasting.backtest import backtest, hide_items
from forecasting.metrics import demand_classes
from forecasting.store import PanelStore
from forecasting.synthetic import generate_network
from forecasting.validate import validate_panel

H = 7


class Constant:
    """A forecaster of 1 unit at every quantile (the scores do not matter here)."""

    name, horizon, quantiles = "constant", H, (0.1, 0.5, 0.9)

    def fit(self, store, cutoff=None):
        return self

    def predict_windows(self, store, series, origins):
        return np.ones((len(series), H, 3), dtype=np.float32)


def _store() -> PanelStore:
    net = generate_network(n_items=10, n_locations=2, n_days=90, seed=5, cold_start_fraction=0)
    frame = net.to_frame(include_future=False)
    frame["item_id"] = frame["item_id"].astype(str)
    clean, _ = validate_panel(frame, net.spec, categories=True)
    return PanelStore.from_frame(clean, net.spec)


def test_hidden_items_are_classed_by_the_history_their_forecasts_had():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = _store()
        result = backtest(store, [Constant()], H, n_origins=2, cold_start=0.2, progress=False,
                          min_history=14)  # fmt: skip
    windows = result.windows
    cold = windows[windows["history"] == "cold"]
    warm = windows[windows["history"] == "warm"]
    assert len(cold) and len(warm)
    assert set(cold["demand_class"]) == {"no_history"}
    # Classing them says nothing on the way (numpy warned of an empty slice per origin).
    seen, hidden = hide_items(store, 0.2, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        classes = demand_classes(seen, hidden, torch.full_like(hidden, 60))
    assert set(classes) == {"no_history"}
    # Warm windows keep the class of their own history before the origin.
    keys = store.keys.reset_index(drop=True)
    index = keys.set_index(["item_id", "location_id"]).index
    series = torch.as_tensor(index.get_indexer(warm.set_index(["item_id", "location_id"]).index))
    origins = torch.as_tensor(np.searchsorted(store.dates, warm["origin"].to_numpy()))
    assert not np.isin(series.numpy(), hidden.numpy()).any()
    assert (warm["demand_class"].to_numpy() == demand_classes(store, series, origins)).all()
    # The class rows hold exactly those windows: the cold ones only in "no_history".
    rows = result.metrics[result.metrics["segment_type"] == "demand_class"].set_index("segment")
    assert rows.loc["no_history", "n_windows"] == len(cold)
    history = result.metrics[result.metrics["segment_type"] == "history"].set_index("segment")
    assert rows.loc["no_history", "wape"] == history.loc["cold", "wape"]


def test_a_share_that_rounds_to_no_item_says_one_is_hidden():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = _store()
    with pytest.warns(UserWarning, match=r"0.01 of 10 items rounds to none; hiding 1 item \(10%"):
        _, hidden = hide_items(store, 0.01)
    assert len(hidden) == 2  # one item at its 2 FCs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, hidden = hide_items(store, 0.25)  # 2.5 items round to 2: nothing to say
    assert len(hidden) == 4


def test_a_share_of_half_an_item_rounds_to_none_and_says_so():
    # round(0.5) is 0 (half to even): one item is hidden for a share of half of one.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = _store()
    with pytest.warns(UserWarning, match=r"0.05 of 10 items rounds to none; hiding 1 item \(10%"):
        _, hidden = hide_items(store, 0.05)
    assert len(hidden) == 2

"""A cold-start backtest forecasts its hidden items from the inputs a table holding them as new
items (rows from the origin on) gives: no past prices or promotions in the encoder, reals
z-scored over the rows a forecast reads."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import torch

from forecasting.backtest import backtest, hide_items
from forecasting.store import PanelStore
from forecasting.synthetic import generate_network
from forecasting.validate import validate_panel
from forecasting.windows import make_batch

H, L = 7, 21


class Spy:
    """A forecaster that records the store and windows the backtest forecasts."""

    name, horizon, quantiles = "spy", H, (0.1, 0.5, 0.9)

    def __init__(self):
        self.calls = []

    def fit(self, store, cutoff=None):
        return self

    def predict_windows(self, store, series, origins):
        self.calls.append((store, series.clone(), origins.clone()))
        return np.ones((len(series), H, 3), dtype=np.float32)


def _inputs(store, series, origin):
    series = torch.as_tensor(series)
    batch = make_batch(store, series, torch.full_like(series, origin), L, H, 1.0,
                       with_target=False)  # fmt: skip
    return {k: batch[k] for k in ("encoder_real", "encoder_cat", "decoder_real", "decoder_cat")}


def test_hidden_items_get_a_new_items_inputs():
    net = generate_network(n_items=10, n_locations=2, n_days=90, seed=5, cold_start_fraction=0)
    spec = net.spec
    frame = net.to_frame(include_future=False)
    frame["item_id"] = frame["item_id"].astype(str)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean, _ = validate_panel(frame, spec, categories=True)
        store = PanelStore.from_frame(clean, spec)
        spy = Spy()
        backtest(store, [spy], H, n_origins=1, cold_start=0.2, progress=False, min_history=1)
    known, series, origins = spy.calls[-1]
    origin = int(origins[0])
    _, hidden = hide_items(store, 0.2, seed=0)
    hidden_items = set(store.keys["item_id"].iloc[hidden.numpy()])
    # The reference: a table in which the hidden items are new items starting at the origin.
    day = store.dates[origin]
    table = frame[frame["date"] < day + pd.Timedelta(days=H)].copy()
    table.loc[table["date"] >= day, "demand"] = np.nan
    new = table["item_id"].isin(hidden_items)
    table = table[~new | (table["date"] >= day)].copy()
    table.loc[new, "item_id"] = "NEW" + table.loc[new, "item_id"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean, _ = validate_panel(table, spec, categories=True, history=False)
        live = PanelStore.from_frame(clean, spec, vocab=store.vocab, extra_periods=H)
    assert live.dates[0] == store.dates[0]
    pairs = zip(live.keys["item_id"], live.keys["location_id"], strict=True)
    position = {pair: k for k, pair in enumerate(pairs)}
    checked = 0
    for s in series.tolist():
        item, location = store.keys["item_id"].iat[s], store.keys["location_id"].iat[s]
        if item not in hidden_items:
            continue
        got = _inputs(known, [s], origin)
        want = _inputs(live, [position[("NEW" + item, location)]], origin)
        for key in got:
            assert torch.allclose(got[key].float(), want[key].float(), atol=1e-5), (key, item)
        checked += 1
    assert checked == 4  # 2 items at 2 FCs


def test_shared_rows_of_visible_series_are_untouched():
    net = generate_network(n_items=10, n_locations=2, n_days=90, seed=5, cold_start_fraction=0)
    store = net.to_store()  # prices per item, weather per FC: shared rows
    spy = Spy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backtest(store, [spy], H, n_origins=1, cold_start=0.2, progress=False, min_history=1)
    known, series, origins = spy.calls[-1]
    origin = int(origins[0])
    _, hidden = hide_items(store, 0.2, seed=0)
    visible = [s for s in series.tolist() if s not in set(hidden.tolist())]
    reference = store.as_of(origin, H)
    got, want = _inputs(known, visible, origin), _inputs(reference, visible, origin)
    for key in got:
        assert torch.equal(got[key], want[key]), key
    # A hidden series reads no past price, weather or promotion.
    cold = _inputs(known, hidden[:2].tolist(), origin)
    assert (cold["encoder_real"] == 0).all()
    n_own = len(store.spec.known_categoricals)
    assert (cold["encoder_cat"][:, :, :n_own] == 0).all()

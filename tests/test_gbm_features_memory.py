"""The gbm's known-covariate features cut the periods they read before spreading a block's rows
over the series.

A block is stored once at its natural grain (a price per item, the calendar's one row), and a
feature row reads the year before its origin and the target periods. ``features`` copied every
block to every series over every period, (S, T, F) at each origin: for 2,000 series of 4,000
days 224 MB of copies for an 11 MB feature matrix, and at hundreds of millions of series x
periods gigabytes per training origin. The features themselves are unchanged (a reference cut
from the whole expanded block).
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting.models.gbm import YEAR, GradientBoosted
from forecasting.spec import PanelSpec
from forecasting.store import PanelStore

H = 28


def _store(n_items: int, n_fcs: int, n_periods: int, n_reals: int) -> PanelStore:
    rng = np.random.default_rng(0)
    n_series = n_items * n_fcs
    dates = pd.date_range("2015-01-01", periods=n_periods, freq="D")
    target = rng.poisson(3.0, size=(n_series, n_periods)).astype(np.float32)
    keys = pd.DataFrame(
        {
            "item_id": np.repeat([f"i{i}" for i in range(n_items)], n_fcs),
            "location_id": np.tile([f"F{j}" for j in range(n_fcs)], n_items),
        }
    )
    names = tuple(f"real{k}" for k in range(n_reals))
    prices = rng.uniform(5.0, 10.0, size=(n_items, n_periods, n_reals)).astype(np.float32)
    rows = np.repeat(np.arange(n_items), n_fcs)  # one price row per item, shared by its FCs
    spec = PanelSpec(freq="D", known_reals=names)
    return PanelStore.from_arrays(spec, dates, target, keys, known_real=[(prices, rows)])


@pytest.mark.parametrize("origin", [200, 700, 990])  # before a year of history; mid; near the end
def test_known_features_match_the_whole_block(origin):
    store = _store(n_items=5, n_fcs=3, n_periods=1000, n_reals=2)
    model = GradientBoosted(horizon=H)
    matrix, names = model.features(store, origin)
    periods = origin + np.arange(H)
    clipped = np.clip(periods, 0, store.n_periods - 1)
    block = store.known_real[0]
    full = block.raw[block.rows].numpy()  # (S, T, F), the reference
    for f, name in enumerate(block.names):
        at = full[:, clipped, f].copy()
        at[:, periods >= store.n_periods] = np.nan
        past = full[:, max(0, origin - YEAR["D"]) : origin, f]
        got = matrix[:, names.index(f"kreal_{name}")].reshape(-1, H)
        np.testing.assert_array_equal(got, at)
        with np.errstate(divide="ignore", invalid="ignore"):
            year = at / np.nanmean(np.where(np.isfinite(past), past, np.nan), axis=1)[:, None]
            last = at / full[:, origin - 1, f][:, None]
        got = matrix[:, names.index(f"kreal_{name}_vs_year")].reshape(-1, H)
        np.testing.assert_allclose(got, year, rtol=1e-6)
        got = matrix[:, names.index(f"kreal_{name}_vs_last")].reshape(-1, H)
        np.testing.assert_array_equal(got, last.astype(np.float32))
    calendar = store.known_cat[-1]
    codes = calendar.values[calendar.rows].numpy()
    for f, name in enumerate(calendar.names):
        got = matrix[:, names.index(f"kcat_{name}")].reshape(-1, H)
        np.testing.assert_array_equal(got, codes[:, clipped, f])


def test_known_features_do_not_copy_the_whole_block_per_origin():
    n_items, n_fcs, n_periods, n_reals = 50, 8, 3000, 16
    store = _store(n_items, n_fcs, n_periods, n_reals)
    torch.set_num_threads(1)
    expanded = n_items * n_fcs * n_periods * n_reals * 4  # the block over all series: 77 MB
    tracemalloc.start()
    try:
        GradientBoosted(horizon=H).features(store, n_periods - H)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The features read a year and a horizon of the block (about 10 MB spread over the
    # series); the whole history of the demand (S x T) is read too. Was above 77 MB.
    assert peak < expanded / 2, f"peak {peak / 1e6:.0f} MB"

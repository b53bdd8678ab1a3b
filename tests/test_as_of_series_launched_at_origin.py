"""``PanelStore.as_of`` z-scores the known reals of a series with no history before the
cutoff (one launched at or after it) over the rows a forecast from there reads, as a table
ending at the cutoff does; it read them unscaled (a price of 12.5 read 12.5), and a backtest
with ``min_history=0`` forecast such a series from raw prices."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from forecasting.backtest import backtest
from forecasting.spec import PanelSpec
from forecasting.store import PanelStore
from forecasting.validate import validate_panel

H = 4


def _table() -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=30, freq="D")
    rng = np.random.default_rng(0)
    rows = [("old", d, float(k % 5), 10.0 + k % 3) for k, d in enumerate(dates)]
    rows += [("new", d, 3.0, float(rng.uniform(5, 15))) for d in dates[22:]]  # launched late
    frame = pd.DataFrame(rows, columns=["item_id", "date", "demand", "price"])
    frame["location_id"] = "fc"
    return frame


def _store(frame: pd.DataFrame, spec: PanelSpec, extra: int = 0) -> PanelStore:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean, report = validate_panel(frame, spec)
        return PanelStore.from_frame(clean, spec.with_freq(report.freq), extra_periods=extra)


def _prices(store: PanelStore, item: str, lo: int, hi: int) -> np.ndarray:
    s = int(np.flatnonzero(store.keys["item_id"] == item)[0])
    return store.known_real[0].values[s, lo:hi, 0].numpy()


def test_series_launched_at_the_cutoff_is_scaled_as_a_table_ending_there():
    spec = PanelSpec(known_reals=("price",), calendar=False)
    frame = _table()
    store = _store(frame, spec)
    origin = 22  # the new item's first period
    # The reference: the table at the origin; the new item has rows from it on, no demand.
    day = store.dates[origin]
    table = frame[frame["date"] < day + pd.Timedelta(days=H)].copy()
    table.loc[table["date"] >= day, "demand"] = np.nan
    live = _store(table, spec)
    want = _prices(live, "new", origin, origin + H)
    got = _prices(store.as_of(origin, H), "new", origin, origin + H)
    assert abs(want.mean()) < 1e-5  # z-scored over its own 4 rows
    np.testing.assert_allclose(got, want, atol=1e-5)
    # A series with history before the cutoff keeps the history's scaling.
    old = _prices(store.as_of(origin, H), "old", origin, origin + H)
    np.testing.assert_allclose(old, _prices(live, "old", origin, origin + H), atol=1e-5)


class Spy:
    name, horizon, quantiles = "spy", H, (0.1, 0.5, 0.9)

    def __init__(self):
        self.stores = []

    def fit(self, store, cutoff=None):
        return self

    def predict_windows(self, store, series, origins):
        self.stores.append((store, series.clone(), int(origins[0])))
        return np.ones((len(series), H, 3), dtype=np.float32)


def test_backtest_with_no_history_required_forecasts_from_scaled_prices():
    spec = PanelSpec(known_reals=("price",), calendar=False)
    frame = _table()
    frame = frame[(frame["item_id"] == "old") | (frame["date"] >= "2024-01-27")]
    store = _store(frame, spec)  # the new item's 4 days are the backtest's horizon
    spy = Spy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        backtest(store, [spy], H, n_origins=1, min_history=0, progress=False)
    known, series, origin = spy.stores[-1]
    s = int(np.flatnonzero(store.keys["item_id"] == "new")[0])
    assert origin == 26 and s in series.tolist()
    prices = known.known_real[0].values[s, origin : origin + H, 0].numpy()
    assert np.abs(prices).max() < 3  # z-scores, not prices of 5 to 15

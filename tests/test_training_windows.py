"""What a window feeds a network is what a live table at its origin would give: an encoder
reaching before the table's first period has no covariates there and the calendar of its own
dates (a forecast does not depend on which other series a table holds); a training window's
level reads no demand at or after its origin (its peers' level before it, as a forecast from
that origin has it); a backtest z-scores known reals as a table at the origin has them, not
over prices published long after it; and a window whose history is hidden (cold start) has no
observed-only reals either."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import forecasting.windows as windows
from forecasting import Forecaster, PanelSpec
from forecasting.backtest import backtest
from forecasting.grid import calendar_features
from forecasting.windows import group_prior_scale, make_batch
from serving.runtime import ForecastPackage
from training import TrainConfig

L, H = 21, 7


@pytest.fixture(scope="module")
def store(small_network):
    return small_network.to_store()


def test_periods_before_the_table_read_their_own_calendar_and_no_covariates(store):
    origins = torch.tensor([3, 10, 21, 40])
    series = torch.tensor([0, 5, 17, 40])
    batch = make_batch(store, series, origins, L, H, prior_scale=2.0)
    n_own = len(store.spec.known_categoricals)
    for b, t0 in enumerate(origins.tolist()):
        positions = np.arange(t0 - L, t0 + H)
        before = pd.date_range(end=store.dates[0], periods=L + 1, freq="D")[:-1]
        dates = pd.DatetimeIndex([before[L + t] if t < 0 else store.dates[t] for t in positions])
        calendar, _ = calendar_features(dates, "D")
        cats = torch.cat([batch["encoder_cat"][b], batch["decoder_cat"][b]]).numpy()
        np.testing.assert_array_equal(cats[:, n_own:], calendar)
        off = positions < 0
        assert (cats[off, :n_own] == 0).all()  # no row: the unknown level
        assert (batch["encoder_real"][b][off[:L]] == 0).all()  # no covariate
        assert (batch["encoder_real"][b][~off[:L]] != 0).any()


def short_table(frame: pd.DataFrame, item: str, location: str, history: int) -> pd.DataFrame:
    part = frame[(frame["item_id"] == item) & (frame["location_id"] == location)]
    observed = part[part["demand"].notna()]
    return pd.concat([observed.tail(history), part[part["demand"].isna()].head(H)])


def test_a_forecast_does_not_depend_on_another_series_history(lstm_package, small_network):
    forecaster, package, _ = lstm_package
    frame = small_network.to_frame()
    a = short_table(frame, "SKU000000", "FC000", 10)  # shorter than the encoder
    # another item at another FC, with more history: it moves the table's first date
    b = short_table(frame, "SKU000001", "FC001", 60)
    alone = forecaster.predict(a)
    together = forecaster.predict(pd.concat([a, b], ignore_index=True))
    together = together[together["item_id"] == "SKU000000"].reset_index(drop=True)
    values = [c for c in alone.columns if c.startswith("q")]
    np.testing.assert_allclose(together[values], alone[values], rtol=1e-5, atol=1e-5)
    # and the package cuts the same windows
    onnx = ForecastPackage(package).predict(a)
    np.testing.assert_allclose(onnx[values], alone[values], rtol=1e-4, atol=1e-4)


H, T = 7, 140


@pytest.fixture
def cut_windows(monkeypatch):
    """Every training window a fit cuts: (store, series, origins, hidden, scale)."""
    cut, make_batch = [], windows.make_batch

    def spy(store, series, origins, *args, hide_history=None, **kwargs):
        batch = make_batch(store, series, origins, *args, hide_history=hide_history, **kwargs)
        if hide_history is not None:  # a training batch
            cut.append((store, series, origins, hide_history, batch["scale"]))
        return batch

    monkeypatch.setattr(windows, "make_batch", spy)
    return cut


def test_a_training_window_is_scaled_by_its_peers_level_before_its_origin(cut_windows):
    dates = pd.date_range("2024-01-01", periods=T, freq="D")
    level = np.round(np.linspace(1, 100, T))  # demand grows over the table
    frame = pd.concat(
        pd.DataFrame({"item_id": item, "location_id": "X", "date": dates, "demand": level})
        for item in ("a", "b")
    )
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=128, progress_bar=False)
    forecaster = Forecaster(
        "lstm", H, hidden_size=4, cold_start_rate=0.5, spec=PanelSpec(freq="D"), train=train
    )
    forecaster.fit(frame)
    checked = 0
    for store, series, origins, hidden, scale in cut_windows:
        for b in torch.nonzero(hidden).squeeze(1).tolist():
            s, t0 = int(series[b]), int(origins[b])
            before = float(group_prior_scale(store, t0)[s])  # peers' demand before t0 only
            assert float(scale[b]) == pytest.approx(before, rel=1e-5), (s, t0)
            checked += 1
    assert checked > 20


H, T, L = 7, 200, 28


class Recorder:
    """A forecaster that keeps the encoder inputs it is asked to forecast from."""

    name, horizon, quantiles = "recorder", H, (0.1, 0.5, 0.9)

    def __init__(self):
        self.seen = []

    def fit(self, store, cutoff=None):
        return self

    def predict_windows(self, store, series, origins, **kwargs):
        batch = make_batch(store, series, origins, L, H, 1.0, with_target=False)
        self.seen.append((int(origins[0]), batch["encoder_real"]))
        return np.zeros((len(series), H, len(self.quantiles)), dtype=np.float32)


def test_backtest_known_reals_are_scaled_as_a_table_at_the_origin_has_them():
    dates = pd.date_range("2024-01-01", periods=T, freq="D")
    price = np.r_[np.full(100, 10.0), np.linspace(10, 30, T - 100)]  # rises after day 100
    frame = pd.DataFrame(
        {
            "item_id": "a",
            "location_id": "X",
            "date": dates,
            "demand": np.arange(T) % 5 * 1.0,
            "price": price + np.arange(T) % 3 * 0.1,
        }
    )
    forecaster = Forecaster("lstm", H, spec=PanelSpec(freq="D", known_reals=("price",)))
    recorder = Recorder()
    backtest(
        forecaster.store(frame), [recorder], H, n_origins=2, step=40, min_history=14, progress=False
    )
    assert recorder.seen
    for origin, encoder_real in recorder.seen:
        live = frame[frame["date"] < dates[0] + pd.Timedelta(days=origin + H)].copy()
        live.loc[live["date"] >= dates[origin], "demand"] = np.nan
        store = forecaster._store_for(live)
        expected = make_batch(
            store, torch.tensor([0]), torch.tensor([origin]), L, H, 1.0, with_target=False
        )["encoder_real"]
        np.testing.assert_allclose(encoder_real.numpy(), expected.numpy(), atol=1e-5)


L, H = 14, 7


def test_hidden_history_hides_observed_reals_too():
    dates = pd.date_range("2024-01-01", periods=60, freq="D")
    frame = pd.DataFrame(
        {
            "item_id": "a",
            "location_id": "X",
            "date": dates,
            "demand": np.arange(60) % 4 * 1.0,
            "views": 100.0 + np.arange(60),
        }
    )
    store = Forecaster("lstm", H, spec=PanelSpec(freq="D", observed_reals=("views",))).store(frame)
    series, origins = torch.tensor([0, 0]), torch.tensor([40, 40])
    hidden = torch.tensor([False, True])
    batch = make_batch(store, series, origins, L, H, 1.0, hide_history=hidden, unknown_item=hidden)
    views = batch["encoder_real"][:, :, -1]
    assert (views[0] != 0).any()  # a warm window reads its page views
    assert (views[1] == 0).all() and (batch["encoder_mask"][1] == 0).all()

"""The LSTM forecaster: repeatable for a seed, a faithful run folder, the forecast contract,
and on real M5 data it beats seasonal naive."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forecasting.backtest import backtest
from forecasting.io import load_panel
from forecasting.models import SeasonalNaive
from forecasting.spec import DEFAULT_QUANTILES, M5_SPEC, quantile_column
from forecasting.store import PanelStore
from forecasting.validate import PanelError, validate_panel
from training.config import TrainConfig
from training.forecaster import NeuralForecaster

H = 14
QUANTILE_COLUMNS = [quantile_column(q) for q in DEFAULT_QUANTILES]


def tiny_forecaster(seed: int = 0) -> NeuralForecaster:
    train = TrainConfig(
        max_epochs=2, batches_per_epoch=4, batch_size=32, seed=seed, progress_bar=False
    )
    return NeuralForecaster(
        "lstm", horizon=H, encoder_length=28, model_params={"hidden_size": 16}, train=train
    )


@pytest.fixture(scope="module")
def store(small_network):
    return small_network.to_store()


@pytest.fixture(scope="module")
def fitted(store, tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    forecaster = tiny_forecaster().fit(store, run_dir=run)
    forecaster.save(run)
    return forecaster, run


def test_same_seed_same_forecasts(store, fitted):
    again = tiny_forecaster().fit(store)
    other = tiny_forecaster(seed=1).fit(store)
    series = torch.arange(store.n_series)
    origins = torch.full_like(series, 200)
    first = fitted[0].predict_windows(store, series, origins)
    assert np.array_equal(first, again.predict_windows(store, series, origins))
    assert not np.array_equal(first, other.predict_windows(store, series, origins))


def test_run_folder_round_trip(store, fitted):
    forecaster, run = fitted
    assert {"config.json", "model.pt", "checkpoints", "logs"} <= {p.name for p in run.iterdir()}
    loaded = NeuralForecaster.load(run)
    series = torch.arange(10)
    origins = torch.full_like(series, 180)
    assert np.array_equal(
        forecaster.predict_windows(store, series, origins),
        loaded.predict_windows(store, series, origins),
    )
    assert loaded.info["data_fingerprint"] == forecaster.info["data_fingerprint"]


def test_load_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        NeuralForecaster.load(tmp_path)


def test_predict_contract(small_network, fitted):
    forecaster, _ = fitted
    frame = small_network.to_frame()  # carries 14 future days of known covariates
    table = forecaster.predict(frame)
    assert list(table.columns) == ["item_id", "location_id", "date", "step", *QUANTILE_COLUMNS]
    assert len(table) == small_network.n_series * H
    last = small_network.dates[small_network.n_history - 1]
    assert table["date"].min() == last + np.timedelta64(1, "D")
    assert sorted(table["step"].unique()) == list(range(1, H + 1))
    values = table[QUANTILE_COLUMNS].to_numpy()
    assert (values >= 0).all() and (np.diff(values, axis=1) >= 0).all()


def test_predict_without_future_covariates_is_a_clear_error(small_network, fitted):
    history_only = small_network.to_frame(include_future=False)
    with pytest.raises(PanelError, match="price, temperature: the horizon of 14"):
        fitted[0].predict(history_only)


def test_unknown_items_get_forecasts_with_a_warning(small_network, fitted):
    frame = small_network.to_frame()
    frame["item_id"] = frame["item_id"].astype(str).str.replace("SKU", "NEW")
    with pytest.warns(UserWarning, match="NEW0000"):
        table = fitted[0].predict(frame)
    assert np.isfinite(table[QUANTILE_COLUMNS].to_numpy()).all()


@pytest.mark.slow
def test_lstm_beats_seasonal_naive_on_m5_tiny(m5_path):
    """A short CPU run on real M5 demand: lower scaled quantile loss over the last 28 days."""
    clean, _ = validate_panel(load_panel(m5_path, M5_SPEC), M5_SPEC)
    store = PanelStore.from_frame(clean, M5_SPEC)
    train = TrainConfig(max_epochs=6, batches_per_epoch=30, seed=0, progress_bar=False)
    lstm = NeuralForecaster("lstm", horizon=28, train=train)
    result = backtest(store, [SeasonalNaive(28), lstm], 28, n_origins=1, progress=False)
    overall = result.overall()
    assert overall.loc["lstm", "n_windows"] == 280
    assert overall.loc["lstm", "sql"] < overall.loc["seasonal_naive", "sql"]
    assert overall.loc["lstm", "wape"] < overall.loc["seasonal_naive", "wape"]

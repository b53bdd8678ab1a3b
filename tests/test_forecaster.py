"""The LSTM forecaster: repeatable for a seed, a faithful run folder, the forecast contract,
and on real M5 data it beats seasonal naive."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting import ForecastConfig, Forecaster, PanelSpec
from forecasting.backtest import backtest, cumulative_calibration, rolling_origins
from forecasting.models import SeasonalNaive
from forecasting.spec import DEFAULT_QUANTILES, M5_SPEC, quantile_column
from forecasting.synthetic import generate_network
from forecasting.validate import PanelError
from kernels.io import FileError
from training.config import TrainConfig
from training.forecaster import NeuralForecaster

H = 14
QUANTILE_COLUMNS = [quantile_column(q) for q in DEFAULT_QUANTILES]


def tiny_forecaster(seed: int = 0) -> NeuralForecaster:
    train = TrainConfig(
        max_epochs=2, batches_per_epoch=4, batch_size=32, seed=seed, progress_bar=False
    )
    return NeuralForecaster(ForecastConfig("lstm", H, encoder_length=28, hidden_size=16), train)


@pytest.fixture(scope="module")
def store(small_network):
    return small_network.to_store()


@pytest.fixture(scope="module")
def fitted(store, tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "lstm"
    model = tiny_forecaster()
    forecaster = Forecaster.from_config(model.config, store.spec, model.train)
    forecaster.fit(store, run_dir=run)
    return forecaster, run


@pytest.mark.slow
def test_same_seed_same_forecasts(store, fitted):
    again = tiny_forecaster().fit(store)
    other = tiny_forecaster(seed=1).fit(store)
    series = torch.arange(store.n_series)
    origins = torch.full_like(series, 200)
    first = fitted[0].model_.predict_windows(store, series, origins)
    assert np.array_equal(first, again.predict_windows(store, series, origins))
    assert not np.array_equal(first, other.predict_windows(store, series, origins))


@pytest.mark.slow
def test_run_folder_round_trip(store, fitted):
    forecaster, run = fitted
    assert {"manifest.json", "model.pt", "checkpoints", "logs"} <= {p.name for p in run.iterdir()}
    assert not any(p.name.startswith(".") for p in run.parent.iterdir())  # no staging left
    loaded = Forecaster.load(run)
    series = torch.arange(10)
    origins = torch.full_like(series, 180)
    assert np.array_equal(
        forecaster.model_.predict_windows(store, series, origins),
        loaded.model_.predict_windows(store, series, origins),
    )
    assert loaded.spec == forecaster.spec and loaded.config == forecaster.config


@pytest.mark.slow
def test_the_run_logs_each_epochs_mean_training_loss(fitted):
    import pandas as pd

    _, run = fitted
    metrics = pd.read_csv(run / "logs" / "metrics.csv")
    train = metrics.dropna(subset=["train_loss"])
    assert list(train["epoch"]) == [0, 1]  # one row per epoch, as many as were trained
    assert np.isfinite(train["train_loss"]).all() and (train["train_loss"] > 0).all()
    assert metrics["val_loss"].notna().sum() == 2


def test_load_refuses_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(FileError, match="no manifest.json"):
        Forecaster.load(tmp_path)


@pytest.mark.slow
def test_load_refuses_an_altered_file(fitted, tmp_path):
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(fitted[1], run)
    weights = run / "model.pt"
    weights.write_bytes(weights.read_bytes()[:-1] + b"x")
    with pytest.raises(FileError, match=r"model\.pt: sha256 does not match"):
        Forecaster.load(run)
    log = next((run / "logs").rglob("*.csv"))
    weights.write_bytes((fitted[1] / "model.pt").read_bytes())
    log.write_text(log.read_text() + "1,2,3\n")
    with pytest.raises(FileError, match=f"{log.name}: sha256"):
        Forecaster.load(run)


@pytest.mark.slow
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


@pytest.mark.slow
def test_predict_without_future_covariates_is_a_clear_error(small_network, fitted):
    history_only = small_network.to_frame(include_future=False)
    with pytest.raises(PanelError, match="price, temperature: the horizon of 14"):
        fitted[0].predict(history_only)


@pytest.mark.slow
def test_unknown_items_get_forecasts_with_a_warning(small_network, fitted):
    frame = small_network.to_frame()
    frame["item_id"] = frame["item_id"].astype(str).str.replace("SKU", "NEW")
    with pytest.warns(UserWarning, match="NEW0000"):
        table = fitted[0].predict(frame)
    assert np.isfinite(table[QUANTILE_COLUMNS].to_numpy()).all()


@pytest.fixture(scope="module")
def m5_run(m5_path):
    """A short CPU run on real M5 demand, fitted once before the first of three 28-day origins."""
    store = Forecaster(spec=M5_SPEC).store(m5_path)
    train = TrainConfig(max_epochs=15, batches_per_epoch=40, seed=0, progress_bar=False)
    lstm = NeuralForecaster(ForecastConfig("lstm", horizon=28), train)
    result = backtest(store, [SeasonalNaive(28), lstm], 28, n_origins=3, progress=False)
    return store, lstm, result


@pytest.mark.slow
def test_lstm_beats_seasonal_naive_on_m5_tiny(m5_run):
    """Lower scaled quantile loss (and WAPE) than seasonal naive over the last 28 days."""
    _, _, result = m5_run
    last = result.windows[result.windows["origin"] == result.windows["origin"].max()]
    scores = last.groupby("model").agg(sql=("sql", "mean"), n=("sql", "size"))
    wape = last.groupby("model").apply(lambda g: g["abs_error"].sum() / g["actual"].sum())
    assert scores.loc["lstm", "n"] == 280
    assert scores.loc["lstm", "sql"] < scores.loc["seasonal_naive", "sql"]
    assert wape["lstm"] < wape["seasonal_naive"]


@pytest.mark.slow
def test_cumulative_quantiles_are_calibrated_on_m5_tiny(m5_run):
    """The 0.9 quantile of 7- and 28-day demand covers 85-95% of the realized sums."""
    store, lstm, _ = m5_run
    origins = rolling_origins(store, 28, 3)
    calibration = cumulative_calibration(store, lstm, origins, horizons=(7, 28))
    q90 = calibration[calibration["level"] == 0.9].set_index("horizon")["coverage"]
    assert calibration["n"].min() == 3 * 280
    assert 0.85 <= q90[7] <= 0.95 and 0.85 <= q90[28] <= 0.95


def test_the_default_encoder_sees_a_season_and_stays_short():
    """Daily, weekly and monthly get 56 days, 60 weeks, 48 months; for any horizon and season
    the encoder covers two horizons and a whole season (the seasonal lag needs one)."""
    from training.forecaster import default_encoder_length

    assert default_encoder_length(28, 7) == 56
    assert default_encoder_length(8, 52) == 60
    assert default_encoder_length(6, 12) == 48
    for horizon in range(1, 60, 7):
        for season in (1, 4, 7, 12, 13, 24, 52, 364):
            encoder = default_encoder_length(horizon, season)
            assert encoder >= 2 * horizon and encoder >= season
            assert encoder <= max(2 * horizon, 4 * season)


@pytest.mark.parametrize(
    ("model", "distribution", "given", "expected"),
    [
        ("tft", "quantile", None, 1e-2),
        ("tft", "negative_binomial", None, 3e-3),
        ("lstm", "quantile", None, 3e-3),
        ("tft", "quantile", 5e-4, 5e-4),  # a given rate is used as given
    ],
)
def test_each_network_trains_at_its_own_learning_rate_unless_one_is_given(
    store, monkeypatch, model, distribution, given, expected
):
    """Without ``--lr`` the TFT with quantiles steps at 1e-2 and the others at 3e-3 (what each
    trained best at on m5_tiny); the optimizer the fit builds gets that rate."""
    rates = []

    class Recording(torch.optim.AdamW):
        def __init__(self, params, lr, **kwargs):
            rates.append(lr)
            super().__init__(params, lr=lr, **kwargs)

    monkeypatch.setattr(torch.optim, "AdamW", Recording)
    train = TrainConfig(
        max_epochs=1, batches_per_epoch=1, batch_size=8, learning_rate=given, progress_bar=False
    )
    config = ForecastConfig(model, H, encoder_length=28, hidden_size=8, distribution=distribution)
    NeuralForecaster(config, train).fit(store)
    assert rates == [expected]


@pytest.mark.filterwarnings("ignore")
def test_resaved_run_keeps_fingerprint_and_metrics(tmp_path):
    torch.set_num_threads(1)
    sales = generate_network(n_items=3, n_locations=1, n_days=90, seed=0).to_frame()
    fast = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=8, progress_bar=False)
    forecaster = Forecaster("lstm", horizon=7, spec=PanelSpec(), train=fast, hidden_size=4)
    forecaster.fit(sales[["item_id", "location_id", "date", "demand"]])
    forecaster.save(tmp_path / "a")
    first = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert first["data_fingerprint"] and "best_val_loss" in first["metrics"]

    loaded = Forecaster.load(tmp_path / "a")
    assert loaded.model_.info["data_fingerprint"] == first["data_fingerprint"]
    loaded.save(tmp_path / "b")
    again = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert again["data_fingerprint"] == first["data_fingerprint"]
    assert again["metrics"] == first["metrics"]
    assert again["training"] == first["training"]


@pytest.mark.filterwarnings("ignore")
def test_predict_store_in_foreign_vocabulary_is_refused(tmp_path):
    torch.set_num_threads(1)
    sales = generate_network(n_items=3, n_locations=1, n_days=90, future_days=7, seed=0).to_frame()
    sales = sales[["item_id", "location_id", "date", "demand", "category"]]
    spec = PanelSpec(static_categoricals=("category",))
    fast = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=8, progress_bar=False)
    forecaster = Forecaster("lstm", horizon=7, spec=spec, train=fast, hidden_size=4).fit(sales)
    forecaster.save(tmp_path / "run")
    loaded = Forecaster.load(tmp_path / "run")

    # The same table plus a new item whose id sorts first: a store that learns its own
    # vocabulary shifts every known item's code by one.
    new = sales[sales["item_id"] == sales["item_id"].iloc[0]].copy()
    new["item_id"] = "AAA"
    table = pd.concat([sales.astype({"item_id": str}), new], ignore_index=True)
    own = loaded.store(table)
    run_vocab = loaded.model_.vocab["item_id"]
    assert own.vocab["item_id"] != run_vocab
    with pytest.raises(ValueError, match="item_id"):
        loaded.predict(own)
    # A store in the run's encoding is accepted and forecasts as the table does.
    expected = loaded.predict(table)
    pd.testing.assert_frame_equal(loaded.predict(loaded._store_for(table)), expected)
    # The training table's own store (the same vocabulary) is accepted too.
    forecaster.predict(forecaster.store(sales))

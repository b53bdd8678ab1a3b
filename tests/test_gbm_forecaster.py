"""The gradient-boosted forecaster (forecasting.models.gbm) and its place among auto's candidates.

References: a panel whose demand is a known function of a price known in advance (the
Poisson median at the true mean is the best any forecast can do, and seasonal naive, which
cannot see the price, is far from it), the forecasts themselves with the future demand replaced
by noise (nothing from the origin on may move them), and a second fit at the same seed.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from forecasting import Forecaster, PanelSpec
from forecasting.models.baselines import SeasonalNaive
from forecasting.models.gbm import GradientBoosted
from forecasting.store import PanelStore
from forecasting.validate import validate_panel
from training.config import TrainConfig

H = 7
QUANTILES = (0.1, 0.5, 0.9)
SPEC = PanelSpec(freq="D", known_reals=("price",))


def price_panel(n_series: int = 16, n_days: int = 420, seed: int = 0) -> pd.DataFrame:
    """Daily Poisson demand whose mean falls with a price drawn afresh each day (elasticity
    -2), the price known for every day: only a forecast that reads the price of the day it
    forecasts can follow it."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-02", periods=n_days, freq="D")
    frames = []
    for s in range(n_series):
        price = rng.choice([1.5, 2.0, 2.5, 3.0], size=n_days)
        mean = (8 + s) * (price / 2.0) ** -2.0
        frames.append(
            pd.DataFrame(
                {"item_id": f"i{s}", "location_id": f"fc{s % 2}", "date": dates,
                 "demand": rng.poisson(mean).astype(float), "price": price, "mean": mean}
            )
        )  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def store_of(panel: pd.DataFrame) -> PanelStore:
    clean, _ = validate_panel(panel.drop(columns="mean"), SPEC, categories=True)
    return PanelStore.from_frame(clean, SPEC.with_freq("D"))


@pytest.fixture(scope="module")
def fitted():
    panel = price_panel()
    store = store_of(panel)
    cutoff = store.n_periods - H
    model = GradientBoosted(H, "D", QUANTILES, seed=0, threads=1).fit(store, cutoff)
    return panel, store, cutoff, model


def test_gbm_follows_a_price_known_in_advance(fitted):
    panel, store, cutoff, model = fitted
    series = torch.arange(store.n_series)
    origins = torch.full_like(series, cutoff)
    forecast = model.predict_windows(store, series, origins)
    assert forecast.shape == (store.n_series, H, len(QUANTILES))
    actual = store.target[:, cutoff:].numpy()
    keys = store.keys[["item_id", "location_id"]].astype(str)
    means = panel.pivot(index=["item_id", "location_id"], columns="date", values="mean")
    true_mean = means.loc[list(keys.itertuples(index=False, name=None))].to_numpy()[:, -H:]
    oracle = stats.poisson.median(true_mean)  # the best median any forecast can give

    def wape(point):
        return np.abs(point - actual).sum() / actual.sum()

    naive = SeasonalNaive(H, season=7, quantiles=QUANTILES).predict_windows(store, series, origins)
    assert wape(oracle) < wape(forecast[:, :, 1]) < 1.25 * wape(oracle)
    assert wape(forecast[:, :, 1]) < 0.7 * wape(naive[:, :, 1])
    # Levels in order, no negative demand, and the 80% interval holds most actual days.
    assert (np.diff(forecast, axis=2) >= 0).all() and (forecast >= 0).all()
    inside = (actual >= forecast[:, :, 0]) & (actual <= forecast[:, :, 2])
    assert 0.65 < inside.mean() <= 1.0


def test_gbm_reads_nothing_from_the_origin_on(fitted):
    _, store, cutoff, model = fitted
    series = torch.arange(store.n_series)
    for origin in (cutoff, cutoff - 30):
        origins = torch.full_like(series, origin)
        before = model.predict_windows(store, series, origins)
        noisy = store.target.clone()
        noisy[:, origin:] = torch.rand_like(noisy[:, origin:]) * 1000
        after = model.predict_windows(dataclasses.replace(store, target=noisy), series, origins)
        np.testing.assert_array_equal(before, after)


def test_gbm_windows_from_several_origins_are_each_their_own(fitted):
    _, store, cutoff, model = fitted
    series = torch.tensor([0, 3, 0, 5])
    origins = torch.tensor([cutoff, cutoff, cutoff - 14, cutoff - 14])
    mixed = model.predict_windows(store, series, origins)
    for k in range(4):
        alone = model.predict_windows(store, series[k : k + 1], origins[k : k + 1])
        np.testing.assert_array_equal(mixed[k], alone[0])


def test_gbm_fit_is_repeatable_and_its_trees_round_trip(fitted, tmp_path):
    _, store, cutoff, model = fitted
    again = GradientBoosted(H, "D", QUANTILES, seed=0, threads=1).fit(store, cutoff)
    series = torch.arange(store.n_series)
    origins = torch.full_like(series, cutoff)
    first = model.predict_windows(store, series, origins)
    np.testing.assert_array_equal(again.predict_windows(store, series, origins), first)
    model.save_trees(tmp_path / "trees.json")
    loaded = GradientBoosted.restore(model.state(), tmp_path / "trees.json")
    np.testing.assert_array_equal(loaded.predict_windows(store, series, origins), first)


def test_gbm_with_too_little_history_says_so():
    short = price_panel(n_series=3, n_days=40)
    store = store_of(short)
    with pytest.raises(ValueError, match="no training rows"):
        GradientBoosted(H, "D", QUANTILES).fit(store, store.n_periods - H)


@pytest.mark.slow
def test_auto_fits_the_gbm_saves_and_reloads_it(tmp_path):
    panel = price_panel(n_series=10, n_days=300).drop(columns="mean")
    train = TrainConfig(max_epochs=1, batches_per_epoch=3, batch_size=32, progress_bar=False)
    auto = Forecaster(
        "auto", H, spec=SPEC, train=train, quantiles=QUANTILES, hidden_size=8,
        auto_distributions=("quantile",),
    )  # fmt: skip
    auto.fit(panel, run_dir=tmp_path / "run")
    model = auto.model_
    assert {"gbm", "lstm+tft+gbm"} <= set(model.candidates)
    assert {"gbm", "lstm+tft+gbm"} <= set(model.scores["model"])
    assert (tmp_path / "run" / "model.gbm.json").is_file()
    future = panel[panel["date"] >= panel["date"].max() - pd.Timedelta(days=H - 1)]
    history = panel[panel["date"] < future["date"].min()]
    plan_rows = pd.concat([history, future.assign(demand=np.nan)], ignore_index=True)
    forecast = auto.predict(plan_rows)
    loaded = Forecaster.load(tmp_path / "run")
    pd.testing.assert_frame_equal(loaded.predict(plan_rows), forecast)
    # With both step heads the gbm also joins the negative binomial pair; without the setting,
    # auto has no gbm to choose.
    assert "lstm_nb+tft_nb+gbm" in Forecaster("auto", H)._model(7).candidates
    assert "gbm" not in Forecaster("auto", H, auto_gbm=False)._model(7).candidates


def test_windows_before_the_cutoff_are_forecast_out_of_sample(fitted):
    # auto scores its candidates on the last horizon before the cutoff: the refitted trees have
    # learnt that window's demand, so it is forecast by the trees fitted before it, whose
    # validation WAPE fitting recorded (the refitted ones score it far better, in sample).
    _, store, cutoff, model = fitted
    validation = cutoff - H
    series = torch.arange(store.n_series)
    median = model.predict_windows(store, series, torch.full_like(series, validation))[:, :, 1]
    actual = store.target[:, validation:cutoff].numpy()
    wape = np.abs(median - actual).sum() / actual.sum()
    recorded = model.info["validation_wape"][model.info["median_objective"]]
    assert wape == pytest.approx(recorded, rel=1e-4)
    matrix, _ = model.features(store, validation)
    in_sample = model._levels(model.boosters, matrix).reshape(store.n_series, H, -1)[:, :, 1]
    assert np.abs(in_sample - actual).sum() / actual.sum() < 0.9 * wape


@pytest.mark.slow
def test_auto_tries_the_gbm_again_at_each_fit():
    """A refitting backtest fits one auto at each origin: a gbm left out at the first origin
    for too little history must be a candidate again where the history has grown."""
    panel = price_panel(n_series=6, n_days=300).drop(columns="mean")
    store = store_of(panel.assign(mean=0.0))
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False)
    auto = Forecaster(
        "auto", H, spec=SPEC, train=train, quantiles=QUANTILES, hidden_size=8,
        auto_distributions=("quantile",),
    )._model(7)  # fmt: skip
    with pytest.warns(UserWarning, match="gbm left out"):
        auto.fit(store, cutoff=40)
    assert "gbm" not in auto.candidates
    auto.fit(store, cutoff=store.n_periods)
    assert {"gbm", "lstm+tft+gbm"} <= set(auto.candidates)
    assert "gbm" in set(auto.scores["model"])

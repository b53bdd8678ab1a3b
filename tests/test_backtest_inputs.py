"""Backtests that score what a user would get: nothing observed after an origin reaches its
forecast, models and segments keep their own names, the median is what WAPE scores, float
segment levels match a monitor's, and a panel too short says what is missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster, PanelSpec
from forecasting.backtest import backtest, hide_items
from forecasting.config import BacktestConfig
from forecasting.metrics import window_scores
from forecasting.models import MovingAverage
from forecasting.monitor import monitor
from forecasting.synthetic import generate_network
from training.config import TrainConfig

H = 7
SPEC = PanelSpec(
    static_categoricals=("category",), known_reals=("price",), observed_reals=("views",)
)
FAST = TrainConfig(max_epochs=1, batches_per_epoch=3, batch_size=16, progress_bar=False, seed=0)


@pytest.fixture(scope="module")
def sales() -> pd.DataFrame:
    frame = generate_network(10, 2, 150, seed=3, cold_start_fraction=0.0).to_frame(
        include_future=False
    )
    rng = np.random.default_rng(0)
    frame["views"] = frame["demand"] * 10 + rng.normal(0, 5, len(frame))
    return frame


def _backtest(frame: pd.DataFrame, cold_start: float = 0.0):
    forecaster = Forecaster("lstm", horizon=H, spec=SPEC, train=FAST, hidden_size=8)
    store = forecaster.store(frame)
    result = forecaster.backtest(
        store, origins=2, baselines=(), progress=False, cold_start=cold_start
    )
    return store, result


@pytest.mark.slow
def test_views_after_the_origin_do_not_change_its_forecast(sales):
    store, before = _backtest(sales)
    last = pd.Timestamp(before.windows["origin"].max())
    changed = sales.copy()
    later = changed["date"] >= last
    changed.loc[later, "views"] = changed.loc[later, "views"] * 5 + 1000
    _, after = _backtest(changed)
    np.testing.assert_array_equal(
        before.forecasts["lstm"]["quantiles"], after.forecasts["lstm"]["quantiles"]
    )


def test_hidden_items_lose_their_observed_reals(sales):
    store = Forecaster("lstm", horizon=H, spec=SPEC, train=FAST).store(sales)
    hidden_store, hidden = hide_items(store, 0.3, seed=0)
    block = hidden_store.observed_real[0]
    assert (block.values[hidden] == 0).all()  # standardized "nothing observed"
    warm = np.setdiff1d(np.arange(store.n_series), hidden.numpy())
    assert (block.values[warm] == store.observed_real[0].values[warm]).all()


@pytest.mark.slow
def test_cold_forecasts_do_not_read_the_hidden_items_views(sales):
    store, before = _backtest(sales, cold_start=0.3)
    _, hidden = hide_items(store, 0.3, seed=0)
    cold_items = store.keys["item_id"].iloc[hidden.numpy()].unique()
    changed = sales.copy()
    rows = changed["item_id"].isin(cold_items)
    changed.loc[rows, "views"] = changed.loc[rows, "views"] * 3 + 500
    _, after = _backtest(changed, cold_start=0.3)
    np.testing.assert_array_equal(
        before.forecasts["lstm"]["quantiles"], after.forecasts["lstm"]["quantiles"]
    )


@pytest.fixture(scope="module")
def two_series_store():
    return generate_network(6, 2, 120, seed=1, cold_start_fraction=0.0).to_store()


def test_two_models_of_one_name_are_refused(two_series_store):
    # Merged, their windows were counted twice under one name (n_windows doubled) and their
    # coverages averaged; two networks of one name crashed (the second was never fitted).
    models = [MovingAverage(7), MovingAverage(7, quantiles=(0.1, 0.5, 0.9))]
    with pytest.raises(ValueError, match="moving_average"):
        backtest(two_series_store, models, 7, n_origins=2, progress=False)


def test_a_baseline_listed_twice_is_scored_once():
    assert BacktestConfig(baselines=("moving_average", "moving_average")).baselines == (
        "moving_average",
    )


def test_cli_models_named_twice_are_scored_once(tmp_path):
    from serving.cli import main

    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=100, freq="D")
    frame = pd.DataFrame(
        [
            {"item_id": item, "location_id": "FC1", "date": d, "demand": float(rng.poisson(5))}
            for item in ("a", "b", "c")
            for d in dates
        ]
    )
    data = tmp_path / "sales.csv"
    frame.to_csv(data, index=False)
    out = tmp_path / "bt"
    code = main(
        ["forecast", "backtest", "--data", str(data), "--horizon", "7", "--origins", "2",
         "--models", "seasonal_naive,moving_average,moving_average", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    metrics = pd.read_csv(out / "metrics.csv")
    overall = metrics[metrics["segment_type"] == "all"].set_index("model")["n_windows"]
    assert overall.to_dict() == {"seasonal_naive": 6, "moving_average": 6}


def _sales(column: str) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=100, freq="D")
    return pd.DataFrame(
        [
            {"item_id": item, "location_id": "FC1", "date": d, "demand": float(rng.poisson(5)),
             column: "x" if item in ("a", "b") else "y"}
            for item in ("a", "b", "c", "d")
            for d in dates
        ]
    )  # fmt: skip


@pytest.mark.parametrize("column", ["model", "demand_class", "origin", "actual"])
def test_a_segment_named_like_a_backtest_column_is_refused(column):
    # Before: with a static categorical "model" the metrics listed models "x" and "y" instead
    # of seasonal_naive; one called "demand_class" vanished behind the computed classes.
    forecaster = Forecaster(
        "seasonal_naive", horizon=7, spec=PanelSpec(static_categoricals=(column,))
    )
    with pytest.raises(ValueError, match=f"'{column}'"):
        forecaster.backtest(_sales(column), origins=2, baselines=(), progress=False)


def test_window_scores_need_the_median():
    actual = np.array([[10.0, 10.0]])
    quantiles = np.array([[[5.0, 15.0], [5.0, 15.0]]])
    with pytest.raises(ValueError, match="median"):
        window_scores(actual, quantiles, (0.1, 0.9), np.array([1.0]))


def test_a_backtest_without_the_median_is_refused():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=100, freq="D")
    sales = pd.DataFrame(
        [
            {"item_id": item, "location_id": "FC1", "date": d, "demand": float(rng.poisson(5))}
            for item in ("a", "b")
            for d in dates
        ]
    )
    # Before: the 0.1 quantile was scored as the median (bias -0.5 reported as the median's).
    forecaster = Forecaster("seasonal_naive", horizon=7, spec=PanelSpec(), quantiles=(0.1, 0.9))
    with pytest.raises(ValueError, match="median"):
        forecaster.backtest(sales, origins=2, baselines=(), progress=False)


def test_float_segment_levels_match_the_backtest_reference():
    rng = np.random.default_rng(0)
    rows, actual_rows = [], []
    for s in range(20):
        tier = np.nan if s == 5 else float(1 + s % 2)  # one empty cell: the column is float
        for step in range(1, 8):
            date = pd.Timestamp("2024-03-04") + pd.Timedelta(days=step - 1)
            rows.append({"item_id": f"I{s}", "location_id": "FC1", "date": date, "step": step,
                         "q0.1": 6.0, "q0.5": 10.0, "q0.9": 14.0})  # fmt: skip
            demand = float(rng.poisson(10)) * (3 if s % 2 == 0 else 1)
            actual_rows.append({"item_id": f"I{s}", "location_id": "FC1", "date": date,
                                "demand": demand, "tier": tier})  # fmt: skip
    # A backtest's metrics.json writes the levels as training reads them: "1", "2", "<NA>".
    reference = pd.DataFrame(
        [
            {"model": "lstm", "segment_type": t, "segment": s, "wape": 0.2, "coverage_80": 0.8}
            for t, s in [("all", "all"), ("tier", "1"), ("tier", "2"), ("tier", "<NA>")]
        ]
    )
    report = monitor(
        pd.DataFrame(rows), pd.DataFrame(actual_rows), segments=["tier"], reference=reference
    )
    checks = report.checks.set_index(["segment_type", "segment"])
    assert set(checks.loc["tier"].index) == {"1", "2", "<NA>"}
    assert (checks["baseline"] == "reference").all()
    assert checks.loc[("tier", "2"), "reference_wape"] == 0.2
    assert checks.loc[("tier", "1"), "wape_flag"]  # tier 1 sells 3x the forecast


def test_a_weekly_panel_shorter_than_two_seasons_says_what_is_missing():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2022-01-03", periods=80, freq="W-MON")  # 80 weeks: < 2 x 52
    sales = pd.DataFrame(
        [
            {"item_id": item, "location_id": "FC1", "date": d, "demand": float(rng.poisson(5))}
            for item in ("a", "b")
            for d in dates
        ]
    )
    forecaster = Forecaster("seasonal_naive", horizon=4, spec=PanelSpec())
    with pytest.raises(ValueError, match="nothing to score.*104 periods of history"):
        forecaster.backtest(sales, origins=3, baselines=(), progress=False)


def test_keywords_beside_a_config_are_applied():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2020-01-01", periods=80, freq="D")
    frame = pd.DataFrame(
        [(f"i{i}", "x", d, float(rng.poisson(4))) for i in range(3) for d in dates],
        columns=["item_id", "location_id", "date", "demand"],
    )
    forecaster = Forecaster("moving_average", horizon=7, spec=PanelSpec())
    config = BacktestConfig(baselines=(), plot_series=0)
    result = forecaster.backtest(frame, config, origins=5, step=2, progress=False)
    origins = sorted(pd.to_datetime(result.windows["origin"].unique()))
    # Before: the keywords were dropped and the config's 3 origins, 7 days apart, scored.
    assert len(origins) == 5
    assert all(b - a == pd.Timedelta(days=2) for a, b in zip(origins, origins[1:]))
    assert origins[-1] == dates[-7]
    assert config.origins == 3  # the caller's config is left as it was


def test_a_negative_min_history_is_refused():
    # An item launched 3 periods after the origin had a window from it with min_history=-5:
    # its actuals before launch are NaN, which coverage counted as misses (0.5, not 1.0).
    dates = pd.date_range("2024-01-01", periods=42)
    frame = pd.DataFrame(
        [("old", "F", d, 5.0) for d in dates] + [("new", "F", d, 100.0) for d in dates[38:]],
        columns=["item_id", "location_id", "date", "demand"],
    )
    store = Forecaster("moving_average", horizon=7).store(frame)
    with pytest.raises(ValueError, match="min_history"):
        backtest(store, [MovingAverage(7)], 7, n_origins=1, min_history=-5, progress=False)

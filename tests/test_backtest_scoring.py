"""What a backtest scores and shows: each origin's forecasts see nothing from the origin on
(the cumulative calibration too), incomplete forecasts are refused, every segment keeps its
bias row (an infinite one where it sold nothing and the forecast expected demand), and no
segment passes for the overall rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster, PanelSpec
from forecasting.backtest import backtest, cumulative_calibration, rolling_origins
from forecasting.metrics import aggregate
from forecasting.models import MovingAverage, SeasonalNaive
from forecasting.store import PanelStore
from forecasting.synthetic import generate_network
from forecasting.validate import validate_panel
from training.config import TrainConfig

# The cumulative calibration forecasts each origin as the backtest does: nothing recorded from
# the origin on (page views, a price published later) reaches the forecast it calibrates.


H = 7
SPEC = PanelSpec(
    static_categoricals=("category",), known_reals=("price",), observed_reals=("views",)
)
FAST = TrainConfig(max_epochs=1, batches_per_epoch=3, batch_size=16, progress_bar=False, seed=0)


class Recorder:
    """The fitted model, keeping what it forecast."""

    def __init__(self, model):
        self.model, self.quantiles, self.horizon = model, model.quantiles, model.horizon
        self.forecasts = []

    def predict_windows(self, store, series, origins, cumulative=False):
        out = self.model.predict_windows(store, series, origins, cumulative=cumulative)
        self.forecasts.append(out)
        return out


@pytest.mark.slow
def test_calibration_forecasts_do_not_read_data_from_the_origin_on():
    sales = generate_network(6, 2, 110, seed=3, cold_start_fraction=0.0).to_frame(
        include_future=False
    )
    rng = np.random.default_rng(0)
    sales["views"] = sales["demand"] * 10 + rng.normal(0, 5, len(sales))
    forecaster = Forecaster("lstm", horizon=H, spec=SPEC, train=FAST, hidden_size=8)
    store = forecaster.store(sales)
    origin = rolling_origins(store, H, 2)[0]
    forecaster.fit(store)  # any fitted model: only what it is shown at the origin matters
    changed = sales.copy()
    later = changed["date"] >= store.dates[origin]
    changed.loc[later, "views"] = changed.loc[later, "views"] * 5 + 1000
    after = changed["date"] >= store.dates[origin + H]
    changed.loc[after, "price"] = changed.loc[after, "price"] * 3
    runs = []
    for frame in (sales, changed):
        recorder = Recorder(forecaster.model_)
        cumulative_calibration(forecaster.store(frame), recorder, [origin], (H,), min_history=14)
        runs.append(recorder.forecasts[0])
    # Before: the views from the origin on and the prices after the horizon moved the
    # forecasts (by up to 0.08 and 0.14 units) through their z-scores.
    np.testing.assert_array_equal(runs[0], runs[1])


# A forecaster that leaves windows without a forecast (NaN) is refused, not scored as if
# those windows had no error.


class Patchy(MovingAverage):
    """A moving average that gives up (NaN) on the item "b", as a user's model might on a
    series it cannot fit."""

    def __init__(self, store, horizon):
        super().__init__(horizon)
        self.name, self.store = "patchy", store

    def predict_windows(self, store, series, origins):
        out = super().predict_windows(store, series, origins).copy()
        out[(self.store.keys["item_id"].to_numpy()[series.numpy()] == "b")] = np.nan
        return out


def test_nan_forecasts_are_refused_not_scored_as_perfect():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=80)
    frame = pd.concat(
        pd.DataFrame({"item_id": item, "location_id": "FC1", "date": dates,
                      "demand": rng.poisson(level, 80).astype(float)})
        for item, level in (("a", 2), ("b", 20))
    )  # fmt: skip
    spec = PanelSpec(calendar=False)
    store = PanelStore.from_frame(validate_panel(frame, spec)[0], spec)
    # Before: "patchy" scored WAPE 0.057 against the moving average's 0.158: the big seller's
    # errors left the numerator, its demand stayed in the denominator.
    with pytest.raises(ValueError, match="patchy: NaN quantiles for 1 of 2 windows"):
        backtest(store, [MovingAverage(7), Patchy(store, 7)], 7, n_origins=2, progress=False)


# The bias table by segment keeps every segment, also one that sold nothing over its windows
# (where a forecast of positive demand is all over-forecast).


def _stopped_selling(quiet_rate: float) -> PanelStore:
    """60 days of a steady seller and of one that stopped selling after day 40, each its own
    category."""
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=60)
    busy = rng.poisson(3, 60).astype(float)
    quiet = np.r_[rng.poisson(quiet_rate, 40), np.zeros(20)].astype(float)  # stopped selling
    frame = pd.concat(
        pd.DataFrame(
            {"item_id": item, "location_id": "FC1", "date": dates, "demand": demand,
             "category": item}
        )
        for item, demand in (("busy", busy), ("quiet", quiet))
    )  # fmt: skip
    spec = PanelSpec(static_categoricals=("category",), calendar=False)
    return PanelStore.from_frame(validate_panel(frame, spec)[0], spec)


def test_a_segment_without_demand_keeps_its_row_in_the_bias_table():
    store = _stopped_selling(1)
    result = backtest(store, [SeasonalNaive(7, 7), MovingAverage(7)], 7, n_origins=2,
                      progress=False)  # fmt: skip
    table = result.bias_by_segment()
    segments = result.metrics[result.metrics["segment_type"] != "all"]
    expected = list(dict.fromkeys(zip(segments["segment_type"], segments["segment"])))
    # Before: ("category", "quiet") and the intermittent class it falls in were left out.
    assert list(table.index) == expected
    assert ("category", "quiet") in table.index
    assert list(table.columns) == ["seasonal_naive", "moving_average"]
    for (kind, value), row in table.iterrows():
        for model, bias in row.items():
            metric = segments[(segments["segment_type"] == kind) & (segments["segment"] == value)
                              & (segments["model"] == model)]["bias"].item()  # fmt: skip
            assert np.isnan(bias) if np.isnan(metric) else bias == metric


# A segment that sold nothing over its windows while the forecast expected demand shows that
# over-forecast: WAPE and bias +inf, as the monitor scores it, not NaN (which read as a
# segment without data in the bias table). A forecast of zero there stays NaN.


def test_a_segment_that_stopped_selling_is_an_infinite_over_forecast():
    result = backtest(_stopped_selling(2), [MovingAverage(7)], 7, n_origins=2, progress=False)
    quiet_rows = result.windows[result.windows["category"] == "quiet"]
    assert quiet_rows["actual"].sum() == 0 and quiet_rows["signed_error"].sum() > 0
    row = result.metrics.set_index(["segment_type", "segment"]).loc[("category", "quiet")]
    # Before: WAPE and bias NaN, as for a segment without any data.
    assert row["wape"] == np.inf and row["bias"] == np.inf
    assert result.bias_by_segment().loc[("category", "quiet"), "moving_average"] == np.inf
    overall = result.overall().loc["moving_average"]
    assert np.isfinite(overall["wape"]) and np.isfinite(overall["bias"])


def test_zero_demand_windows_keep_their_sign_and_an_exact_zero_forecast_has_none():
    under = pd.DataFrame({"abs_error": [2.0], "actual": [0.0], "signed_error": [-2.0],
                          "mase": [np.nan], "sql": [np.nan]})  # fmt: skip
    assert aggregate(under)["bias"] == -np.inf and aggregate(under)["wape"] == np.inf
    exact = under.assign(abs_error=0.0, signed_error=0.0)
    assert np.isnan(aggregate(exact)["wape"]) and np.isnan(aggregate(exact)["bias"])


# A static categorical named "all" is refused: its rows would pass for the overall ones.


def test_a_segment_named_all_is_refused():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=100, freq="D")
    sales = pd.DataFrame(
        [
            {"item_id": item, "location_id": "FC1", "date": d, "demand": float(rng.poisson(5)),
             "all": "x" if item in ("a", "b") else "y"}
            for item in ("a", "b", "c", "d")
            for d in dates
        ]
    )  # fmt: skip
    spec = PanelSpec(static_categoricals=("all",))
    forecaster = Forecaster("seasonal_naive", horizon=7, spec=spec)
    # Before: overall() listed three rows per model (the overall one, then "x" and "y"), and
    # the CLI printed them all as the models' overall scores.
    with pytest.raises(ValueError, match="'all'"):
        forecaster.backtest(sales, origins=2, baselines=(), progress=False)


class Flat:
    """A cumulative forecaster of ``H`` periods that forecasts nothing."""

    horizon, quantiles = H, (0.1, 0.5, 0.9)

    def predict_windows(self, store, series, origins, cumulative=False):
        return np.zeros((len(series), H, 3))


def test_calibration_horizons_past_the_models_are_refused_by_name():
    """A horizon beyond the model's has no cumulative quantile: a ValueError naming the
    horizons, not an IndexError from inside the scoring."""
    sales = generate_network(4, 1, 60, seed=2, cold_start_fraction=0.0).to_frame(
        include_future=False
    )
    store = Forecaster("lstm", horizon=H).store(sales)
    assert len(cumulative_calibration(store, Flat(), [40], (H,), min_history=14))
    with pytest.raises(ValueError, match=rf"horizons: expected 1..{H} .*\[{H + 1}\]"):
        cumulative_calibration(store, Flat(), [40], (H + 1,), min_history=14)

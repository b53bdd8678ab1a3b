"""A forecast that is not finite (NaN or inf) is refused wherever it is scored, never counted as
a window without error: the sums of :func:`~forecasting.metrics.aggregate` skip NaN, so such a
window's errors left WAPE, bias, MASE and SQL while its demand stayed in the denominator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.backtest import backtest, cumulative_calibration
from forecasting.metrics import window_scores
from forecasting.models import MovingAverage
from forecasting.spec import PanelSpec
from forecasting.store import PanelStore
from forecasting.validate import validate_panel
from serving.demo.monitor import _sql

LEVELS = (0.1, 0.5, 0.9)


def _two_windows():
    actual = np.array([[10.0, 10.0], [10.0, 10.0]])
    quantiles = np.stack([0.5 * actual, actual, 1.5 * actual], axis=-1)
    quantiles[1, :, 1] += 5.0  # the second window's median is 5 off each step
    return actual, quantiles


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_window_scores_refuse_a_window_without_a_finite_forecast(value):
    actual, quantiles = _two_windows()
    quantiles[1, 0, :] = value
    # Before (NaN): WAPE 0.0 and MASE 0.0 where the finite forecast scores 10 / 40 = 0.25.
    with pytest.raises(ValueError, match=r"not finite \(NaN or inf\) in 1 of 2 windows"):
        window_scores(actual, quantiles, LEVELS, np.ones(2))


class Unbounded(MovingAverage):
    """A moving average whose lowest quantile of item "b" is -inf (no lower bound)."""

    def __init__(self, store, horizon):
        super().__init__(horizon, quantiles=LEVELS)
        self.name, self.store = "unbounded", store

    def predict_windows(self, store, series, origins):
        out = super().predict_windows(store, series, origins).copy()
        out[self.store.keys["item_id"].to_numpy()[series.numpy()] == "b", :, 0] = -np.inf
        return out


def test_backtest_refuses_infinite_quantiles_and_names_the_series():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=80)
    frame = pd.concat(
        pd.DataFrame({"item_id": item, "location_id": "FC1", "date": dates,
                      "demand": rng.poisson(level, 80).astype(float)})
        for item, level in (("a", 2), ("b", 20))
    )  # fmt: skip
    spec = PanelSpec(calendar=False)
    store = PanelStore.from_frame(validate_panel(frame, spec)[0], spec)
    with pytest.raises(ValueError, match=r"unbounded: NaN quantiles for 1 of 2 windows .*b @ FC1"):
        backtest(store, [Unbounded(store, 7)], 7, n_origins=2, progress=False)


ORIGIN = pd.Timestamp("2024-02-26")
H = 7


def _frames(median_a, median_b):
    days = pd.date_range(ORIGIN, periods=H)
    demand = {"A": [0, 3, 0, 0, 2, 0, 4], "B": [10, 12, 9, 11, 8, 10, 13]}
    actual = pd.DataFrame(
        [{"item_id": i, "location_id": "L", "date": d, "demand": float(demand[i][k])}
         for i in demand for k, d in enumerate(days)]
    )  # fmt: skip
    forecast = pd.DataFrame(
        [{"item_id": i, "location_id": "L", "date": ORIGIN + pd.Timedelta(days=h), "step": h + 1,
          "q0.1": 0.5 * m, "q0.5": m, "q0.9": 1.5 * m}
         for i, m in (("A", median_a), ("B", median_b)) for h in range(H)]
    )  # fmt: skip
    return forecast, actual


def test_demo_challenger_without_a_forecast_for_a_series_is_refused():
    scale = pd.Series(
        [1.5, 2.0], index=pd.MultiIndex.from_tuples([("A", "L"), ("B", "L")], names=None)
    )
    champion, actual = _frames(3.0, 10.5)
    challenger, _ = _frames(1.3, 30.0)  # better on A, far worse on B
    assert _sql(challenger, actual, H, scale) > 4 * _sql(champion, actual, H, scale)
    challenger.loc[challenger["item_id"] == "B", ["q0.1", "q0.5", "q0.9"]] = np.nan
    # Before: the challenger scored SQL 0.750 (A alone) against the champion's 0.767 and
    # replaced it, though its loss over both series is 3.27.
    with pytest.raises(ValueError, match=r"NaN or infinite quantiles for 1 of 2 series .*B @ L"):
        _sql(challenger, actual, H, scale)
    with pytest.raises(ValueError, match="^challenger: "):
        _sql(challenger, actual, H, scale, "challenger")


class Wide:
    """Cumulative quantiles that always cover the 0.9 level, NaN for every other window."""

    name, quantiles, horizon = "wide", LEVELS, 7

    def predict_windows(self, store, series, origins, cumulative=False):
        out = np.empty((len(series), self.horizon, 3))
        out[..., 0], out[..., 1], out[..., 2] = 0.0, 5.0 * np.arange(1, 8), 1e6
        out[::2] = np.nan
        return out


def test_cumulative_calibration_refuses_windows_without_a_forecast():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=80)
    frame = pd.concat(
        pd.DataFrame({"item_id": f"i{k}", "location_id": "FC1", "date": dates,
                      "demand": rng.poisson(5, 80).astype(float)})
        for k in range(8)
    )  # fmt: skip
    spec = PanelSpec(calendar=False)
    store = PanelStore.from_frame(validate_panel(frame, spec)[0], spec)
    # Before: the 0.9 level's coverage read 0.5 over n = 16 windows (1.0 over the 8 with a
    # forecast): the NaN windows counted as sums above every quantile.
    with pytest.raises(ValueError, match=r"wide: NaN or infinite cumulative quantiles for 4 of 8"):
        cumulative_calibration(store, Wide(), [60, 67], horizons=(7,), min_history=28)

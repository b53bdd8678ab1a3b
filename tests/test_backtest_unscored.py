"""A backtest names the series it leaves out of every metric.

Series launched less than two seasons before the origins (or that stopped selling before
them) got no window and were left out of every metric without a word: the summary read as the
whole panel's. Checked against a plain-pandas seasonal-naive scoring of the same windows.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster, PanelSpec

SPEC = PanelSpec(
    item_col="sku", location_col="warehouse", date_col="period_end", target_col="units_sold"
)


def _panel() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    ends = pd.date_range("2019-01-31", "2022-12-31", freq="ME")
    rows = []
    # 101: whole span; 202: launched 2020-01; 303: launched 2021-10 (15 months before the
    # last origin); 404: discontinued after 2021-12 (before every origin)
    for sku, first, last in ((101, 0, 48), (202, 12, 48), (303, 33, 48), (404, 0, 36)):
        for date in ends[first:last]:
            rows.append((sku, "WH-1", date, float(rng.poisson(20 + sku % 7))))
    return pd.DataFrame(rows, columns=["sku", "warehouse", "period_end", "units_sold"])


def _reference(frame: pd.DataFrame, origins, horizon: int, min_history: int) -> pd.DataFrame:
    """Seasonal naive (y a year back) scored in plain pandas."""
    rows = []
    for sku, part in frame.groupby("sku"):
        y = part.set_index("period_end")["units_sold"].sort_index()
        for origin in origins:
            dates = [origin + pd.offsets.MonthEnd(h) for h in range(horizon)]
            if (y.index < origin).sum() < min_history or not all(d in y.index for d in dates):
                continue
            back = [d - pd.DateOffset(months=12) + pd.offsets.MonthEnd(0) for d in dates]
            median = y[back].to_numpy()
            actual = y[dates].to_numpy()
            rows.append((str(sku), origin, np.abs(actual - median).sum(), actual.sum()))
    return pd.DataFrame(rows, columns=["item_id", "origin", "abs_error", "actual"])


def test_backtest_names_the_series_no_window_scored():
    frame = _panel()
    forecaster = Forecaster("seasonal_naive", horizon=3, spec=SPEC)
    with pytest.warns(UserWarning, match=r"2 of 4 series are in no metric \(e\.g\. 303 @ WH-1"):
        result = forecaster.backtest(
            frame, origins=3, baselines=("seasonal_naive",), progress=False
        )
    windows = result.windows
    origins = sorted(pd.Timestamp(o) for o in windows["origin"].unique())
    assert origins == list(pd.to_datetime(["2022-04-30", "2022-07-31", "2022-10-31"]))
    reference = _reference(frame, origins, 3, min_history=24)
    assert sorted(set(reference["item_id"])) == sorted(set(windows["item_id"])) == ["101", "202"]
    merged = reference.merge(windows, on=["item_id", "origin"], suffixes=("_ref", ""))
    assert len(merged) == len(reference) == len(windows) == 6
    np.testing.assert_allclose(merged["abs_error"], merged["abs_error_ref"], rtol=1e-6)
    wape = reference["abs_error"].sum() / reference["actual"].sum()
    assert np.isclose(result.overall().loc["seasonal_naive", "wape"], wape, rtol=1e-6)


def test_backtest_of_every_series_is_silent():
    frame = _panel()
    frame = frame[frame["sku"].isin([101, 202])]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Forecaster("seasonal_naive", horizon=3, spec=SPEC).backtest(
            frame, origins=3, baselines=("seasonal_naive",), progress=False
        )


def test_min_history_scores_recent_launches():
    """``min_history`` (``forecast backtest --min-history``) lets a user score series with less
    than two seasons of history; seasonal naive needs one season before each target."""
    frame = _panel()
    result = Forecaster("seasonal_naive", horizon=3, spec=SPEC).backtest(
        frame, origins=3, baselines=("seasonal_naive",), progress=False, min_history=12
    )
    windows = result.windows
    origins = sorted(pd.Timestamp(o) for o in windows["origin"].unique())
    reference = _reference(frame, origins, 3, min_history=12)
    assert sorted(set(windows["item_id"])) == ["101", "202", "303"]
    merged = reference.merge(windows, on=["item_id", "origin"], suffixes=("_ref", ""))
    assert len(merged) == len(reference) == len(windows)
    np.testing.assert_allclose(merged["abs_error"], merged["abs_error_ref"], rtol=1e-6)


def test_origins_that_score_no_series_are_named():
    """Nine origins three months apart on four years of history: the first has 21 months of
    history before it, less than the 24 a window needs, so it scores nothing. The summary
    read as nine origins' without a word; it holds eight, and the skipped one is named."""
    frame = _panel()
    frame = frame[frame["sku"] == 101]
    forecaster = Forecaster("seasonal_naive", horizon=3, spec=SPEC)
    with pytest.warns(UserWarning, match=r"1 of 9 origins scored no series \(2020-10-31\)"):
        result = forecaster.backtest(
            frame, origins=9, baselines=("seasonal_naive",), progress=False
        )
    assert result.windows["origin"].nunique() == 8

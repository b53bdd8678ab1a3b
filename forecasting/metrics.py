"""Forecast accuracy: WAPE, MASE, scaled quantile loss, interval coverage, bias; demand classes.

Per-window components are computed once (:func:`window_scores`) and aggregated over any
segment (:func:`aggregate`), so a backtest breaks its table down by category or demand class
without recomputing.

* WAPE = sum |y - median| / sum y
* MASE = mean over windows of mean_h |y - median| / scale, with scale = in-sample mean absolute
  difference at the seasonal lag (7 days, 52 weeks, 12 months: Hyndman's seasonal MASE; M5
  scales by lag-1 differences); a window whose scale is 0 or undefined is left out of MASE and
  SQL (it still counts in WAPE, coverage and bias)
* SQL = mean over windows of mean_{h, q} 2 * pinball_q / scale
* coverage_XX = share of actuals inside the central XX% interval (0.05-0.95 is 90%)
* bias = sum (median - y) / sum y (positive: over-forecast)

WAPE and bias of windows that sold nothing are NaN where the median forecast 0 too and infinite
(bias: signed) where it expected demand. Forecasts must be finite: a NaN or infinite quantile is
refused (a window without a forecast would otherwise count as one without error).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from forecasting.store import PanelStore

DEMAND_CLASS_ADI = 1.32  # Syntetos & Boylan (2005) cut-offs
DEMAND_CLASS_CV2 = 0.49


_CHUNK_CELLS = 2**22
"""Series x periods of history read at a time by :func:`mase_scale` and :func:`demand_classes`."""


def _by_chunks(part, store: PanelStore, series: torch.Tensor, origins: torch.Tensor, *args):
    """``part(store, series, origins, *args)`` over chunks of windows, concatenated. Each
    window reads its series' whole history: at once, a backtest origin held several
    (windows x periods) copies of the panel's target (4.5 times its size: 36 GB for a million
    series of 2,000 days), the per-window copy the store is built to avoid."""
    step = max(1, _CHUNK_CELLS // max(1, store.target.shape[1]))
    if len(series) <= step:
        return part(store, series, origins, *args)
    return np.concatenate(
        [
            part(store, series[lo : lo + step], origins[lo : lo + step], *args)
            for lo in range(0, len(series), step)
        ]
    )


def mase_scale(
    store: PanelStore, series: torch.Tensor, origins: torch.Tensor, season: int
) -> np.ndarray:
    """In-sample mean absolute ``season``-difference of each series before its origin."""
    return _by_chunks(_mase_scale, store, series, origins, season)


def _mase_scale(
    store: PanelStore, series: torch.Tensor, origins: torch.Tensor, season: int
) -> np.ndarray:
    target = store.target[series.to(store.device)].cpu().numpy()
    origins = origins.cpu().numpy()
    before = np.arange(target.shape[1])[None, :] < origins[:, None]
    history = np.where(before, target, np.nan)
    diffs = np.abs(history[:, season:] - history[:, :-season])
    with np.errstate(invalid="ignore"):
        count = np.isfinite(diffs).sum(axis=1)
        total = np.nansum(diffs, axis=1)
        scale = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return np.where(scale > 0, scale, np.nan)


def window_scores(
    actual: np.ndarray,
    quantiles: np.ndarray,
    levels: Sequence[float],
    scale: np.ndarray,
) -> pd.DataFrame:
    """Per-window components of every metric: actual (N, H), quantiles (N, H, Q), scale (N,)."""
    levels = np.asarray(levels, dtype=np.float64)
    middle = np.flatnonzero(np.isclose(levels, 0.5))
    if len(middle) == 0:
        # WAPE, MASE and bias score the median; another quantile would pass for it.
        raise ValueError(
            f"quantiles: scoring needs the median (0.5) among the levels, got {levels.tolist()}"
        )
    finite = np.isfinite(quantiles).all(axis=tuple(range(1, np.ndim(quantiles))))
    if not finite.all():
        # A window without a forecast (NaN) scored as none without error: pandas' sums in
        # aggregate skip NaN, so its errors left WAPE, bias, MASE and SQL while its demand stayed
        # in the denominator (WAPE 0 for a model that forecast nothing).
        bad = np.flatnonzero(~finite)
        raise ValueError(
            f"quantiles: not finite (NaN or inf) in {len(bad)} of {len(finite)} windows "
            f"(e.g. window {bad[:3].tolist()}); only complete forecasts can be scored"
        )
    median = quantiles[..., int(middle[0])]
    abs_error = np.abs(actual - median).sum(axis=1)
    error = actual[..., None] - quantiles
    pinball = np.maximum(levels * error, (levels - 1) * error).mean(axis=(1, 2))
    frame = pd.DataFrame(
        {
            "abs_error": abs_error,
            "actual": actual.sum(axis=1),
            "signed_error": (median - actual).sum(axis=1),
            "mase": abs_error / actual.shape[1] / scale,
            "sql": 2 * pinball / scale,
            "n_steps": actual.shape[1],
        }
    )
    for lo, hi in _intervals(levels):
        inside = (actual >= quantiles[..., lo]) & (actual <= quantiles[..., hi])
        frame[f"coverage_{round(100 * (levels[hi] - levels[lo]))}"] = inside.mean(axis=1)
    return frame


def _intervals(levels: np.ndarray) -> list[tuple[int, int]]:
    """Index pairs (lo, hi) of symmetric central intervals, e.g. (0.05, 0.95)."""
    pairs = []
    for i, q in enumerate(levels):
        if q < 0.5:
            match = np.nonzero(np.isclose(levels, 1 - q))[0]
            if len(match):
                pairs.append((i, int(match[0])))
    return pairs


def aggregate(scores: pd.DataFrame) -> dict[str, float]:
    """Metrics of a set of windows (rows of :func:`window_scores`)."""
    total = float(scores["actual"].sum())
    result = {
        "wape": _over_demand(float(scores["abs_error"].sum()), total),
        "mase": float(scores["mase"].mean(skipna=True)),
        "sql": float(scores["sql"].mean(skipna=True)),
        "bias": _over_demand(float(scores["signed_error"].sum()), total),
    }
    for column in scores.columns:
        if column.startswith("coverage_"):
            result[column] = float(scores[column].mean())
    result["n_windows"] = len(scores)
    return result


def _over_demand(error: float, total: float) -> float:
    """``error / total`` (WAPE, bias). Windows that sold nothing have none (NaN) where their
    forecast said so too, and an infinite one (signed: over-forecast) where it expected demand,
    as the monitor scores them: a NaN hid the worst over-forecast there is (a segment whose
    demand stopped read as one without data in the bias table)."""
    if total > 0:
        return error / total
    return float(np.sign(error) * np.inf) if error != 0 else float("nan")


def demand_classes(store: PanelStore, series: torch.Tensor, origins: torch.Tensor) -> np.ndarray:
    """Smooth / intermittent / lumpy / erratic by ADI and CV² of the history before each origin.

    ADI = periods per non-zero demand; CV² = squared coefficient of variation of the non-zero
    sizes. Series with fewer than two non-zero periods are "intermittent" (or "no_history").
    """
    return _by_chunks(_demand_classes, store, series, origins)


def _demand_classes(store: PanelStore, series: torch.Tensor, origins: torch.Tensor) -> np.ndarray:
    target = store.target[series.to(store.device)].cpu().numpy()
    before = np.arange(target.shape[1])[None, :] < origins.cpu().numpy()[:, None]
    history = np.where(before, target, np.nan)
    observed = np.isfinite(history).sum(axis=1)
    nonzero = np.where(np.isfinite(history) & (history > 0), history, np.nan)
    n_nonzero = np.isfinite(nonzero).sum(axis=1)
    # A series without non-zero history (a new item, a cold-start backtest's hidden one) has
    # an empty slice: NaN, classed below, without numpy's "Mean of empty slice" per call.
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        adi = observed / n_nonzero
        mean = np.nanmean(nonzero, axis=1)
        cv2 = (np.nanstd(nonzero, axis=1) / mean) ** 2
    cv2 = np.nan_to_num(cv2, nan=0.0)
    labels = np.select(
        [
            observed == 0,
            n_nonzero < 2,
            (adi < DEMAND_CLASS_ADI) & (cv2 < DEMAND_CLASS_CV2),
            (adi >= DEMAND_CLASS_ADI) & (cv2 < DEMAND_CLASS_CV2),
            (adi < DEMAND_CLASS_ADI) & (cv2 >= DEMAND_CLASS_CV2),
        ],
        ["no_history", "intermittent", "smooth", "intermittent", "erratic"],
        "lumpy",
    )
    return labels

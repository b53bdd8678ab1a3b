"""Forecast tables in the shared contract: one row per (item, location, date/step or horizon).

Torch-free: the PyTorch path and the ONNX runtime write their forecasts through these
functions, so both give the same columns in the same order.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd

from forecasting.grid import date_grid
from forecasting.spec import ITEM, LOCATION, STEP_DAYS, quantile_column


def forecast_frame(
    keys: pd.DataFrame,
    dates: pd.DatetimeIndex,
    freq: str,
    series: np.ndarray,
    origins: np.ndarray,
    quantiles: np.ndarray,
    levels: Sequence[float],
) -> pd.DataFrame:
    """Per-step quantiles ``item_id, location_id, date, step, q...`` (step 1 = first period).

    ``keys`` are the series' keys, ``dates`` the panel's grid (extended at ``freq`` where the
    steps run past it), ``quantiles`` (N, horizon, Q) for windows ``(series, origins)``.
    """
    n, horizon, _ = quantiles.shape
    step = np.tile(np.arange(1, horizon + 1), n)
    position = np.repeat(np.asarray(origins), horizon) + step - 1
    frame = pd.DataFrame(
        {
            ITEM: np.repeat(keys[ITEM].to_numpy()[series], horizon),
            LOCATION: np.repeat(keys[LOCATION].to_numpy()[series], horizon),
            "date": dates_at(dates, freq, position),
            "step": step.astype(np.int32),
        }
    )
    flat = quantiles.reshape(n * horizon, -1)
    for k, level in enumerate(levels):
        frame[quantile_column(level)] = flat[:, k].astype(np.float32)
    return frame


def check_cumulative(cumulative: object, horizon: int) -> None:
    """``cumulative`` must be a whole number of periods 1..``horizon``: ``True`` is not a switch
    (it would read as 1 and give the one-period sums alone), ``7.0`` is not a count."""
    if (
        isinstance(cumulative, bool | np.bool_)
        or not isinstance(cumulative, numbers.Integral)
        or not 1 <= cumulative <= horizon
    ):
        raise ValueError(
            f"cumulative: expected 1..{horizon} (the model's horizon), a whole number of "
            f"periods, got {cumulative!r}"
        )


def cumulative_frame(
    keys: pd.DataFrame,
    series: np.ndarray,
    quantiles: np.ndarray,
    levels: Sequence[float],
    freq: str,
    dates: pd.DatetimeIndex,
    origins: np.ndarray,
    origin: int | None = None,
) -> pd.DataFrame:
    """Quantiles of demand summed over steps 1..horizon: ``item_id, location_id, horizon,
    step_days, q...``.

    This is the lead-time demand table planning reads (``kernels``): pick the row whose horizon
    is the lead time plus the review period. ``step_days`` is the days of one step of the
    panel's frequency ``freq`` (7 for weekly): the table has no dates, and a plan that read a
    weekly table's horizons as days planned seven times the lead-time demand without a word.
    A monthly table's horizon h is the demand of h * 30.4375 days from each series' forecast
    start (``dates``, ``origins`` as :func:`forecast_frame` takes them), read off its calendar
    months (see :func:`_monthly_on_average_months`).

    ``origin``: the forecast origin (the period after the table's last observed one). A series
    forecast from after it (a new item whose rows start g periods later, a launch ahead) has
    its rows shifted by its launch (see :func:`shift_launches`): the table has no dates, so a
    plan reads row h as the demand of the next h periods from the origin.
    """
    n, horizons, _ = quantiles.shape
    if origin is not None:
        origins = np.asarray(origins, dtype=np.int64)
        quantiles = shift_launches(quantiles, np.maximum(origins - origin, 0))
        origins = np.minimum(origins, origin)  # a shifted series' rows count from the origin
    if freq == "M":
        quantiles = _monthly_on_average_months(quantiles, dates, origins)
    frame = pd.DataFrame(
        {
            ITEM: np.repeat(keys[ITEM].to_numpy()[series], horizons),
            LOCATION: np.repeat(keys[LOCATION].to_numpy()[series], horizons),
            "horizon": np.tile(np.arange(1, horizons + 1, dtype=np.int32), n),
            "step_days": np.full(n * horizons, STEP_DAYS[freq]),
        }
    )
    flat = quantiles.reshape(n * horizons, -1)
    for k, level in enumerate(levels):
        frame[quantile_column(level)] = flat[:, k].astype(np.float32)
    return frame


def shift_launches(quantiles: np.ndarray, ahead: np.ndarray) -> np.ndarray:
    """Cumulative quantiles (N, H, Q) of steps 1..h from each series' own start re-counted
    from ``ahead`` (N) periods before it: 0 for h <= ahead, the start's steps 1..h - ahead
    after (every row 0 where ahead >= H).

    A new item launched g periods after the forecast origin sells nothing before its launch,
    so its demand over the origin's next h periods is exactly its launch's first h - g
    periods' (the same quantiles), which the table already holds: no forecast is needed.
    """
    ahead = np.asarray(ahead, dtype=np.int64)
    if not len(ahead) or not ahead.any():
        return quantiles
    horizons = quantiles.shape[1]
    source = np.arange(horizons)[None, :] - ahead[:, None]  # (N, H): the launch's row, or < 0
    picked = np.take_along_axis(quantiles, np.clip(source, 0, None)[:, :, None], axis=1)
    return np.where((source >= 0)[:, :, None], picked, 0).astype(quantiles.dtype, copy=False)


def _monthly_on_average_months(
    quantiles: np.ndarray, dates: pd.DatetimeIndex, origins: np.ndarray
) -> np.ndarray:
    """Cumulative quantiles (N, H, Q) of calendar months 1..h re-read at h * 30.4375 days.

    Planning reads every step as ``STEP_DAYS["M"]`` days (its table has no dates), but months
    1..h from a February start cover 28, 59, ... days: a 45-day lead time was planned 4.8%
    low from a February start and 1.8% high from a July one. Each month's demand is spread
    evenly over its days (as planning spreads a step's), so the cumulative curve is piecewise
    linear in days through (0, 0), (D_1, q_1), ..., (D_H, q_H), D_h the days of the series'
    months 1..h; it is read at t_h = h * 30.4375, past D_H (at most a few days) at the last
    month's rate. The weights are shared by all levels, so quantiles stay in level order.
    """
    n, horizons, _ = quantiles.shape
    step = np.arange(horizons)
    position = np.asarray(origins, dtype=np.int64)[:, None] + step[None, :]
    month_days = dates_at(dates, "M", position.ravel()).days_in_month.to_numpy()
    ends = np.cumsum(month_days.reshape(n, horizons).astype(np.float64), axis=1)
    ends = np.concatenate([np.zeros((n, 1)), ends], axis=1)  # (N, H + 1): D_0 = 0 .. D_H
    t = (step + 1) * STEP_DAYS["M"]
    # Segment [D_j, D_j+1] holding t (the last one past D_H), and the share of it.
    seg = np.clip((ends[:, None, :] <= t[None, :, None]).sum(axis=2) - 1, 0, horizons - 1)
    lo = np.take_along_axis(ends, seg, axis=1)
    hi = np.take_along_axis(ends, seg + 1, axis=1)
    f = ((t[None, :] - lo) / (hi - lo))[:, :, None]
    padded = np.concatenate([np.zeros_like(quantiles[:, :1]), quantiles], axis=1).astype(float)
    rows = np.arange(n)[:, None]
    out = (1.0 - f) * padded[rows, seg] + f * padded[rows, seg + 1]
    # Past D_H (f > 1) the last month's rate is extrapolated: keep levels in order there too.
    return np.maximum.accumulate(out, axis=2)


def dates_at(dates: pd.DatetimeIndex, freq: str, position: np.ndarray) -> pd.DatetimeIndex:
    """Dates of grid positions, extending the grid past its end at the panel's frequency."""
    needed = int(position.max()) + 1 if len(position) else 0
    if needed > len(dates):
        month_end = freq == "M" and bool(dates.is_month_end.all())
        day = int(dates.day.max()) if freq == "M" else None
        dates = date_grid(dates[0], needed, freq, month_end, day)
    return dates[position]

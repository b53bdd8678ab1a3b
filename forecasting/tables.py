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
) -> pd.DataFrame:
    """Quantiles of demand summed over steps 1..horizon: ``item_id, location_id, horizon,
    step_days, q...``.

    This is the lead-time demand table planning reads (``kernels``): pick the row whose horizon
    is the lead time plus the review period. ``step_days`` is the days of one step of the
    panel's frequency ``freq`` (7 for weekly): the table has no dates, and a plan that read a
    weekly table's horizons as days planned seven times the lead-time demand without a word.
    """
    n, horizons, _ = quantiles.shape
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


def dates_at(dates: pd.DatetimeIndex, freq: str, position: np.ndarray) -> pd.DatetimeIndex:
    """Dates of grid positions, extending the grid past its end at the panel's frequency."""
    needed = int(position.max()) + 1 if len(position) else 0
    if needed > len(dates):
        month_end = freq == "M" and bool(dates.is_month_end.all())
        day = int(dates.day.max()) if freq == "M" else None
        dates = date_grid(dates[0], needed, freq, month_end, day)
    return dates[position]

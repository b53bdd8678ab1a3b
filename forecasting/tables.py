"""Forecast tables in the shared contract: one row per (item, location, date/step or horizon)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from forecasting.grid import date_grid
from forecasting.spec import ITEM, LOCATION, quantile_column
from forecasting.store import PanelStore


def forecast_frame(
    store: PanelStore,
    series: torch.Tensor,
    origins: torch.Tensor,
    quantiles: np.ndarray,
    levels: Sequence[float],
) -> pd.DataFrame:
    """Per-step quantiles ``item_id, location_id, date, step, q...`` (step 1 = first period)."""
    n, horizon, _ = quantiles.shape
    series = series.cpu().numpy()
    origins = origins.cpu().numpy()
    step = np.tile(np.arange(1, horizon + 1), n)
    position = np.repeat(origins, horizon) + step - 1
    dates = dates_at(store, position)
    frame = pd.DataFrame(
        {
            ITEM: np.repeat(store.keys[ITEM].to_numpy()[series], horizon),
            LOCATION: np.repeat(store.keys[LOCATION].to_numpy()[series], horizon),
            "date": dates,
            "step": step.astype(np.int32),
        }
    )
    flat = quantiles.reshape(n * horizon, -1)
    for k, level in enumerate(levels):
        frame[quantile_column(level)] = flat[:, k].astype(np.float32)
    return frame


def cumulative_frame(
    store: PanelStore, series: torch.Tensor, quantiles: np.ndarray, levels: Sequence[float]
) -> pd.DataFrame:
    """Quantiles of demand summed over steps 1..horizon: ``item_id, location_id, horizon, q...``.

    This is the lead-time demand table planning reads (``kernels``): pick the row whose horizon
    is the lead time plus the review period.
    """
    n, horizons, _ = quantiles.shape
    series = series.cpu().numpy()
    frame = pd.DataFrame(
        {
            ITEM: np.repeat(store.keys[ITEM].to_numpy()[series], horizons),
            LOCATION: np.repeat(store.keys[LOCATION].to_numpy()[series], horizons),
            "horizon": np.tile(np.arange(1, horizons + 1, dtype=np.int32), n),
        }
    )
    flat = quantiles.reshape(n * horizons, -1)
    for k, level in enumerate(levels):
        frame[quantile_column(level)] = flat[:, k].astype(np.float32)
    return frame


def dates_at(store: PanelStore, position: np.ndarray) -> pd.DatetimeIndex:
    """Dates of grid positions, extending the grid past its end at the panel's frequency."""
    needed = int(position.max()) + 1 if len(position) else 0
    dates = store.dates
    if needed > len(dates):
        month_end = store.spec.freq == "M" and bool(dates.is_month_end.all())
        dates = date_grid(dates[0], needed, store.spec.freq, month_end)
    return dates[position]

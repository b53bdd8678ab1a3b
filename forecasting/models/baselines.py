"""Statistical baselines with quantiles: seasonal naive and moving average.

Both put their classic point forecast at the median and take the spread from the series' own
recent errors (empirical quantiles, re-centered on the point), so they are scored on the same
quantile metrics as the networks. Computed for all windows at once with tensor ops.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from forecasting.spec import DEFAULT_QUANTILES
from forecasting.store import PanelStore


def _history(store: PanelStore, series: torch.Tensor, origins: torch.Tensor, length: int):
    """Demand of the ``length`` periods before each origin, NaN where not observed."""
    steps = torch.arange(-length, 0, device=store.device)
    positions = origins.to(store.device)[:, None] + steps
    values = store.target[series.to(store.device)[:, None], positions.clamp(min=0)]
    return torch.where(positions >= 0, values, torch.nan)


def _spread(errors: torch.Tensor, quantiles: torch.Tensor) -> torch.Tensor:
    """Empirical quantiles of ``errors`` (N, W) re-centered on their median -> (N, Q)."""
    levels = torch.cat([quantiles, quantiles.new_tensor([0.5])])
    q = torch.nanquantile(errors, levels, dim=1).T  # (N, Q + 1)
    return torch.nan_to_num(q[:, :-1] - q[:, -1:], nan=0.0)


class SeasonalNaive:
    """Repeat the last season; quantiles from the errors of the same lag over recent history."""

    def __init__(
        self,
        horizon: int,
        season: int = 7,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        error_window: int | None = None,
    ):
        self.name = "seasonal_naive"
        self.horizon, self.season = horizon, season
        self.quantiles = tuple(quantiles)
        self.error_window = error_window or max(8 * season, 2 * horizon)

    def fit(self, store: PanelStore, cutoff: int | None = None) -> SeasonalNaive:
        return self  # nothing to learn

    def predict_windows(
        self, store: PanelStore, series: torch.Tensor, origins: torch.Tensor
    ) -> np.ndarray:
        h = torch.arange(self.horizon, device=store.device)
        lags = (h // self.season + 1) * self.season  # y[t0 + h] <- y[t0 + h - lag]
        n_lags = int(lags.max().item()) // self.season
        history = _history(store, series, origins, self.error_window + n_lags * self.season)
        length = history.shape[1]
        point = history[:, length + h - lags]
        fallback = torch.nan_to_num(torch.nanmean(history, dim=1), nan=0.0)
        point = torch.where(torch.isnan(point), fallback[:, None], point)
        levels = torch.tensor(self.quantiles, device=store.device, dtype=history.dtype)
        recent = history[:, -self.error_window :]
        spreads = []
        for k in range(1, n_lags + 1):
            lagged = history[:, -self.error_window - k * self.season : length - k * self.season]
            spreads.append(_spread(recent - lagged, levels))
        spread = torch.stack(spreads, dim=1)[:, h // self.season]  # (N, H, Q)
        return (point[:, :, None] + spread).clamp(min=0).cpu().numpy()


class MovingAverage:
    """The mean of the last ``window`` periods; quantiles from that window's spread."""

    def __init__(
        self, horizon: int, window: int = 28, quantiles: Sequence[float] = DEFAULT_QUANTILES
    ):
        self.name = "moving_average"
        self.horizon, self.window = horizon, window
        self.quantiles = tuple(quantiles)

    def fit(self, store: PanelStore, cutoff: int | None = None) -> MovingAverage:
        return self

    def predict_windows(
        self, store: PanelStore, series: torch.Tensor, origins: torch.Tensor
    ) -> np.ndarray:
        history = _history(store, series, origins, self.window)
        level = torch.nan_to_num(torch.nanmean(history, dim=1), nan=0.0)
        levels = torch.tensor(self.quantiles, device=store.device, dtype=history.dtype)
        quantiles = (level[:, None] + _spread(history, levels)).clamp(min=0)
        return quantiles[:, None, :].expand(-1, self.horizon, -1).cpu().numpy()

"""Statistical baselines with quantiles: seasonal naive and moving average.

Both put their classic point forecast at the median and take the spread from the series' own
recent errors (empirical quantiles, re-centered on the point), so they are scored on the same
quantile metrics as the networks. Computed for all windows at once with tensor ops.

Both also forecast lead-time (cumulative) quantiles, the demand summed over steps 1..k: the
point is the sum of the step points, and the spread comes from the errors of the same k-period
sum forecast made from each of the series' recent origins (quantiles do not add up over steps,
so the sums' own errors are read, as the networks' lead-time head is trained on the sums).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from forecasting.spec import DEFAULT_QUANTILES
from forecasting.store import PanelStore

CUMULATIVE_BUDGET = 2**23
"""Elements of a (series, origins, horizon) tensor of sum errors per chunk of series (32 MiB in
float32): a fixed count of series took 4.7 GB for weekly horizons of 104 (416 origins)."""


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


def _cumulative(
    history: torch.Tensor,
    paths: Callable[[torch.Tensor], torch.Tensor],
    point: torch.Tensor,
    quantiles: Sequence[float],
    window: int,
) -> np.ndarray:
    """Lead-time quantiles (N, H, Q) of the demand summed over steps 1..k.

    ``history`` (N, L): the demand before the forecast origin (position L), NaN where not
    observed; ``point`` (N, H): the forecast's step points; ``paths(origins)``: the (N, O, H)
    step points the same rule gives from each earlier origin (positions into ``history``).
    Each k's spread is the empirical quantiles of the ``window`` most recent k-period sum
    errors whose periods all lie before the origin, re-centered on their median (seasonal
    naive's k = 1 reads the same errors as its per-step forecast's step 1).
    """
    n, length = history.shape
    horizon = point.shape[1]
    device = history.device
    # Earlier origins o = L - H - window + 1 .. L - 1: the latest `window` of them whose k
    # periods end before L, for every k.
    first = length - horizon - window + 1
    origins = torch.arange(first, length, device=device)  # (O,)
    h = torch.arange(horizon, device=device)
    positions = origins[:, None] + h  # (O, H)
    actual = history[:, positions.clamp(min=0, max=length - 1)]
    actual = torch.where((positions >= 0) & (positions < length), actual, torch.nan)
    # A period not observed (or not yet happened) leaves that sum and the longer ones unknown:
    # NaN carries forward through the running sum and nanquantile skips it.
    errors = torch.cumsum(actual - paths(origins), dim=2)  # (N, O, H)
    k = torch.arange(1, horizon + 1, device=device)
    rows = (horizon - k)[None, :] + torch.arange(window, device=device)[:, None]  # (W, H)
    chosen = torch.gather(errors, 1, rows.unsqueeze(0).expand(n, -1, -1))  # (N, W, H)
    levels = torch.tensor([*quantiles, 0.5], device=device, dtype=history.dtype)
    q = torch.nanquantile(chosen, levels, dim=1)  # (Q + 1, N, H)
    spread = torch.nan_to_num(q[:-1] - q[-1:], nan=0.0).permute(1, 2, 0)  # (N, H, Q)
    total = (torch.cumsum(point, dim=1)[:, :, None] + spread).clamp(min=0)
    # Spreads from different sums need not grow with k: each level sorted over the horizons
    # (the rearrangement the planner applies) keeps it a distribution function of k, and the
    # levels stay ordered (sorting the columns of row-sorted values keeps the rows sorted).
    return torch.sort(total, dim=1).values.cpu().numpy()


def _chunks(n: int, per_series: int):
    """Slices of ``n`` series whose sum errors, ``per_series`` elements each, fit the budget."""
    size = max(1, CUMULATIVE_BUDGET // max(1, per_series))
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


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
        """Nothing to learn: forecasts read the history before each origin. Returns ``self``."""
        return self  # nothing to learn

    def _lags(self, device) -> tuple[torch.Tensor, torch.Tensor, int]:
        h = torch.arange(self.horizon, device=device)
        lags = (h // self.season + 1) * self.season  # y[t0 + h] <- y[t0 + h - lag]
        return h, lags, int(lags.max().item()) // self.season

    def predict_windows(
        self,
        store: PanelStore,
        series: torch.Tensor,
        origins: torch.Tensor,
        cumulative: bool = False,
    ) -> np.ndarray:
        """Quantiles (N, horizon, Q) of each step; with ``cumulative``, of the demand summed
        over steps 1..k (see :func:`_cumulative`)."""
        if cumulative:
            return self._predict_cumulative(store, series, origins)
        h, lags, n_lags = self._lags(store.device)
        history = _history(store, series, origins, self.error_window + n_lags * self.season)
        length = history.shape[1]
        point = self._point(history, h, lags)
        levels = torch.tensor(self.quantiles, device=store.device, dtype=history.dtype)
        recent = history[:, -self.error_window :]
        spreads = []
        for k in range(1, n_lags + 1):
            lagged = history[:, -self.error_window - k * self.season : length - k * self.season]
            spreads.append(_spread(recent - lagged, levels))
        spread = torch.stack(spreads, dim=1)[:, h // self.season]  # (N, H, Q)
        return (point[:, :, None] + spread).clamp(min=0).cpu().numpy()

    @staticmethod
    def _point(history: torch.Tensor, h: torch.Tensor, lags: torch.Tensor) -> torch.Tensor:
        """The step points from the origin at the end of ``history``; a period one season
        back that was not observed reads the history's mean."""
        point = history[:, history.shape[1] + h - lags]
        fallback = torch.nan_to_num(torch.nanmean(history, dim=1), nan=0.0)
        return torch.where(torch.isnan(point), fallback[:, None], point)

    def _predict_cumulative(
        self, store: PanelStore, series: torch.Tensor, origins: torch.Tensor
    ) -> np.ndarray:
        h, lags, n_lags = self._lags(store.device)
        length = self.error_window + self.horizon - 1 + n_lags * self.season
        out = []
        for rows in _chunks(len(series), (self.error_window + self.horizon) * self.horizon):
            history = _history(store, series[rows], origins[rows], length)

            # From an earlier origin o the rule repeats y[o + h - lag]; a missing one is
            # missing (that sum's error is unknown), not the fallback the forecast uses.
            def paths(earlier: torch.Tensor, history=history) -> torch.Tensor:
                return history[:, (earlier[:, None] + h - lags).clamp(min=0)]

            # The per-step forecast's history, so a missing period reads the same mean there.
            point = self._point(history[:, self.horizon - 1 :], h, lags)
            out.append(_cumulative(history, paths, point, self.quantiles, self.error_window))
        return _stack(out, self.horizon, len(self.quantiles))


class MovingAverage:
    """The mean of the last ``window`` periods; quantiles from that window's spread."""

    def __init__(
        self,
        horizon: int,
        window: int = 28,
        quantiles: Sequence[float] = DEFAULT_QUANTILES,
        error_window: int | None = None,
    ):
        self.name = "moving_average"
        self.horizon, self.window = horizon, window
        self.quantiles = tuple(quantiles)
        # Origins whose k-period sum errors spread the lead-time quantiles: 28 overlapping
        # 14-day sums covered 82% at 0.9 on Poisson days, 56 covered 88%.
        self.error_window = error_window or max(2 * window, 2 * horizon)

    def fit(self, store: PanelStore, cutoff: int | None = None) -> MovingAverage:
        """Nothing to learn: forecasts read the history before each origin. Returns ``self``."""
        return self

    def predict_windows(
        self,
        store: PanelStore,
        series: torch.Tensor,
        origins: torch.Tensor,
        cumulative: bool = False,
    ) -> np.ndarray:
        """Quantiles (N, horizon, Q) of each step; with ``cumulative``, of the demand summed
        over steps 1..k, spread by the errors of the k-period sums this average forecast
        from each of the last ``error_window`` origins (see :func:`_cumulative`)."""
        if cumulative:
            return self._predict_cumulative(store, series, origins)
        history = _history(store, series, origins, self.window)
        level = torch.nan_to_num(torch.nanmean(history, dim=1), nan=0.0)
        levels = torch.tensor(self.quantiles, device=store.device, dtype=history.dtype)
        quantiles = (level[:, None] + _spread(history, levels)).clamp(min=0)
        return quantiles[:, None, :].expand(-1, self.horizon, -1).cpu().numpy()

    def _predict_cumulative(
        self, store: PanelStore, series: torch.Tensor, origins: torch.Tensor
    ) -> np.ndarray:
        # The earliest origin whose errors are read is `window` periods in, so each earlier
        # origin has a whole window of history before it.
        length = self.window + self.horizon - 1 + self.error_window
        out = []
        for rows in _chunks(len(series), (self.error_window + self.horizon) * self.horizon):
            history = _history(store, series[rows], origins[rows], length)
            # means[:, s]: the mean of periods s .. s + window - 1, the forecast from s + window.
            means = torch.nanmean(history.unfold(1, self.window, 1), dim=2)

            def paths(earlier: torch.Tensor, means=means) -> torch.Tensor:
                return means[:, earlier - self.window, None].expand(-1, -1, self.horizon)

            level = torch.nan_to_num(torch.nanmean(history[:, -self.window :], dim=1), nan=0.0)
            point = level[:, None].expand(-1, self.horizon)
            out.append(_cumulative(history, paths, point, self.quantiles, self.error_window))
        return _stack(out, self.horizon, len(self.quantiles))


def _stack(parts: list[np.ndarray], horizon: int, n_quantiles: int) -> np.ndarray:
    if not parts:
        return np.zeros((0, horizon, n_quantiles), dtype=np.float32)
    return np.concatenate(parts)

"""The contract every forecaster follows, so backtests treat baselines and networks alike."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from forecasting.store import PanelStore


class Forecaster(Protocol):
    """Fit on a store up to a cutoff, then forecast windows ``(series, origin)``.

    ``predict_windows`` returns quantiles of demand, shape (N, horizon, len(quantiles)), in
    demand units, non-decreasing along the last axis; it may only look at periods before each
    origin (and at known covariates after it).
    """

    name: str
    horizon: int
    quantiles: tuple[float, ...]

    def fit(self, store: PanelStore, cutoff: int | None = None) -> Forecaster:
        """Learn from the periods of ``store`` before ``cutoff`` (a period index; ``None``: all
        of them); returns ``self``."""
        ...

    def predict_windows(
        self, store: PanelStore, series: torch.Tensor, origins: torch.Tensor
    ) -> np.ndarray: ...

"""Fan charts: history, the median forecast and its central intervals, with actuals if known."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; works on machines without a display
import matplotlib.pyplot as plt
import numpy as np

from forecasting.spec import ITEM, LOCATION
from forecasting.store import PanelStore
from forecasting.tables import dates_at
from kernels.io import atomic_write

# The panel's time step in words, for axis labels: a chart without a y label left the reader
# to guess whether it drew units a day, a week or the cumulative demand.
PERIODS = {"D": "day", "W": "week", "M": "month"}


def period_name(freq: str | None) -> str:
    """``freq`` (``D``, ``W`` or ``M``) as a word; "period" when not known."""
    return PERIODS.get(str(freq), "period")


def fan_chart(
    ax: plt.Axes,
    history_dates,
    history: np.ndarray,
    forecast_dates,
    quantiles: np.ndarray,
    levels: Sequence[float],
    actual: np.ndarray | None = None,
    label: str = "forecast",
) -> None:
    """Draw one series' fan chart on ``ax``; ``quantiles`` is (H, Q) for ``levels``."""
    levels = np.asarray(levels)
    ax.plot(history_dates, history, color="0.35", lw=1, label="history")
    pairs = [(i, int(np.argmin(np.abs(levels - (1 - q))))) for i, q in enumerate(levels) if q < 0.5]
    # A shade per interval, outer to inner: three fixed shades left a fourth pair (the innermost,
    # e.g. the 50% interval of levels 0.02..0.98) undrawn and out of the legend.
    shades = [0.15, 0.25, 0.4] if len(pairs) <= 3 else np.linspace(0.1, 0.4, len(pairs)).tolist()
    for (lo, hi), alpha in zip(pairs, shades[: len(pairs)], strict=True):
        width = round(100 * (levels[hi] - levels[lo]))
        ax.fill_between(
            forecast_dates,
            quantiles[:, lo],
            quantiles[:, hi],
            color="tab:blue",
            alpha=alpha,
            lw=0,
            label=f"{width}% interval",
        )
    median = int(np.argmin(np.abs(levels - 0.5)))
    # Levels need not hold 0.5 (e.g. 0.1 and 0.9): the central line is then named by its level,
    # not called the median (it was q0.1 labelled "median").
    central = "median" if np.isclose(levels[median], 0.5) else f"q{levels[median]:g}"
    ax.plot(
        forecast_dates, quantiles[:, median], color="tab:blue", lw=1.5, label=f"{label} {central}"
    )
    if actual is not None:
        ax.plot(forecast_dates, actual, color="black", lw=1, ls="--", label="actual")
    ax.set_ylim(bottom=0)


def save_fan_charts(
    store: PanelStore,
    series: np.ndarray,
    origins: np.ndarray,
    quantiles: np.ndarray,
    levels: Sequence[float],
    path: str | Path,
    history: int = 112,
    title: str = "",
) -> Path:
    """A grid of fan charts, one panel per window, written as a PNG."""
    n = len(series)
    cols = min(3, n)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(5.5 * cols, 3.2 * rows), squeeze=False)
    target = store.target.cpu().numpy()
    horizon = quantiles.shape[1]
    unit = f"demand (units per {period_name(store.spec.freq)})"
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.axis("off")
            continue
        s, t0 = int(series[k]), int(origins[k])
        lo = max(int(store.start[s]), t0 - history)
        future = np.arange(t0, t0 + horizon)
        actual = None
        if t0 + horizon <= target.shape[1] and np.isfinite(target[s, future]).all():
            actual = target[s, future]
        fan_chart(
            ax,
            store.dates[lo:t0],
            target[s, lo:t0],
            dates_at(store.dates, store.spec.freq, future),
            quantiles[k],
            levels,
            actual,
        )
        # ids are text, not TeX: "$" in an id started math mode (or failed to parse)
        key = f"{store.keys[ITEM].iat[s]} @ {store.keys[LOCATION].iat[s]}"
        ax.set_title(key, fontsize=9, parse_math=False)
        ax.tick_params(axis="x", labelsize=7, rotation=30)
        if k % cols == 0:  # the first panel of each row: every panel plots the same quantity
            ax.set_ylabel(unit, fontsize=8)
        if k == 0:
            ax.legend(fontsize=7, loc="upper left")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def save_figure(fig: plt.Figure, path: str | Path) -> Path:
    """Lay out, write as PNG (atomically: no half-written image) and close ``fig``."""
    fig.tight_layout()
    try:
        return atomic_write(path, lambda p: fig.savefig(p, dpi=110, format="png"))
    finally:
        plt.close(fig)

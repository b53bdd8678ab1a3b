"""The demo's data: the embedded synthetic network (or a user's table), split at a cutoff.

Everything before the cutoff trains and backtests the models; the weeks after it are held
back: the plan is simulated on their real demand and the monitor scores the forecasts on them.
On the embedded network one category's demand steps up in the held-back weeks (a competitor
closed, say), so the monitor has a drift to find and retraining something to fix.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.io import map_columns, read_panel
from forecasting.spec import DATE, DEMAND, ITEM, LOCATION, PanelSpec
from forecasting.validate import validate_panel
from serving.demo.config import DemoConfig

KEYS = [ITEM, LOCATION]
RECENT_DAYS = 28  # the days before the cutoff that size the stock planned (demo.plan)


@dataclass
class DemoData:
    """The panel around its cutoff (canonical column names)."""

    spec: PanelSpec
    frame: pd.DataFrame  # every observed row, history and held-back weeks
    cutoff: pd.Timestamp  # the first held-back day
    lead_times: pd.DataFrame | None  # item_id, location_id, order_date, lead_time_days
    drifted: tuple[str, str] | None  # (column, level) whose held-back demand was scaled
    segments: tuple[str, ...]  # static categoricals to report and monitor by

    @property
    def train(self) -> pd.DataFrame:
        return self.frame[self.frame[DATE] < self.cutoff]

    @property
    def holdout(self) -> pd.DataFrame:
        return self.frame[self.frame[DATE] >= self.cutoff]

    def forecast_table(self, origin: pd.Timestamp, horizon: int) -> pd.DataFrame:
        """History before ``origin`` and the ``horizon`` days after it as future rows: known
        covariates kept, demand left empty (what a forecast at ``origin`` may know). A series
        whose first row comes after ``origin`` (an item first sold later) is left out: it is
        not planned from ``origin``, and its rows would stop short of the horizon. So is one
        whose rows end before ``origin`` (a discontinued item): it has no future rows, so it
        would be forecast for past days without the known covariates of its horizon."""
        end = origin + pd.Timedelta(days=horizon)
        rows = self.frame[self.frame[DATE] < end]
        dates = rows.groupby(KEYS, observed=True)[DATE]
        first, last = dates.transform("min"), dates.transform("max")
        rows = rows[(first <= origin) & (last >= origin)].copy()
        rows.loc[rows[DATE] >= origin, DEMAND] = np.nan
        return rows

    def actuals(self, start: pd.Timestamp, days: int) -> pd.DataFrame:
        """Realized demand of ``days`` days from ``start``, with the segment columns."""
        end = start + pd.Timedelta(days=days)
        rows = self.frame[(self.frame[DATE] >= start) & (self.frame[DATE] < end)]
        return rows[[*KEYS, DATE, DEMAND, *self.segments]].reset_index(drop=True)


def embedded(config: DemoConfig) -> DemoData:
    """The synthetic network: ``items`` x ``locations`` daily series, ``days`` of history and
    the held-back weeks, with prices, promotions, events and FC weather forecasts."""
    from forecasting.synthetic import generate_network

    total = config.days + config.holdout_days
    network = generate_network(config.items, config.locations, total, seed=config.seed)
    frame = network.to_frame(include_future=False)
    spec = network.spec
    # The network's price is `price`: another name given would rank by units without a word.
    check_price_col(spec, config, "the embedded network's price is 'price'")
    cutoff = frame[DATE].max() - pd.Timedelta(days=config.holdout_days - 1)
    drifted = None
    if config.drift != 1.0:
        # The category with most items steps up in the held-back weeks.
        category = str(frame.groupby("category")[ITEM].nunique().idxmax())
        later = (frame[DATE] >= cutoff) & (frame["category"].astype(str) == category)
        frame.loc[later, DEMAND] = np.round(frame.loc[later, DEMAND] * config.drift)
        drifted = ("category", category)
    # A lead time is recorded when its order arrives: orders still on their way at the cutoff,
    # and those placed in the held-back weeks, are not known to the plan made there.
    lead_times = network.lead_times
    arrival = lead_times["order_date"] + pd.to_timedelta(lead_times["lead_time_days"], unit="D")
    lead_times = lead_times[arrival < cutoff].reset_index(drop=True)
    return DemoData(spec, frame, cutoff, lead_times, drifted, tuple(spec.static_categoricals))


def check_price_col(spec: PanelSpec, config: DemoConfig, advice: str) -> None:
    """A price column named (on the command line, or other than the default) must be one of
    the panel's known reals: the ABC segments read it for revenue, and one the panel lacks
    ranked them by units without a word (only the default ``price`` may be missing)."""
    default = next(f.default for f in dataclasses.fields(config) if f.name == "price_col")
    named = "price_col" in config.explicit or config.price_col != default
    if named and config.price_col not in spec.known_reals:
        raise ValueError(
            f"price_col: {config.price_col!r} is not one of the table's known reals "
            f"({list(spec.known_reals) or 'none declared'}; {advice})"
        )


def users_table(path: str | Path, spec: PanelSpec, config: DemoConfig) -> DemoData:
    """A user's panel (their column names, mapped by ``spec``); the last ``holdout_weeks`` are
    held back. Without lead-time records, planning uses the inventory defaults.

    The frame comes back with canonical key columns, so the spec does too: every later step
    (the forecasters' backtest, fit and predict) maps its tables again, and with the user's
    ``--item-col``... it would look for names the frame no longer has. Validation still runs
    with the user's spec, so its errors name their columns.
    """
    check_price_col(spec, config, "declare it with --known-reals")
    frame = map_columns(read_panel(path, spec), spec, require_target=True)
    clean, report = validate_panel(frame, spec)
    named = spec  # the user's column names, for the errors below
    spec = spec.with_freq(report.freq).canonical()
    if spec.freq != "D":
        raise ValueError(f"{path}: the demo plans and simulates days; this panel is {spec.freq}")
    # Days without a row inside a series sold nothing (the panel's gap rule): given as rows,
    # as the store would fill them. Left out, a series whose last sale before the cutoff came
    # days earlier ended there in the training table: the plan forecast it from the day after
    # that sale (its whole horizon before the cutoff) and the backtest scored it nowhere.
    observed = _fill_gaps(clean[clean[DEMAND].notna()])
    cutoff = observed[DATE].max() - pd.Timedelta(days=config.holdout_days - 1)
    if (observed[DATE] < cutoff).sum() == 0:
        raise ValueError(f"{path}: no history before the {config.holdout_weeks} held-back weeks")
    # The series sold in the weeks before the cutoff are planned, and the plan is replayed on
    # every held-back day: one whose rows stop early (a discontinued SKU) cannot be replayed.
    before = observed[DATE] < cutoff
    recent = observed[before & (observed[DATE] >= cutoff - pd.Timedelta(days=RECENT_DAYS))]
    planned = recent[KEYS].drop_duplicates()
    held = observed[~before].groupby(KEYS, observed=True)[DATE].nunique()
    days = held.reindex(pd.MultiIndex.from_frame(planned)).fillna(0).to_numpy()
    short = planned[days < config.holdout_days]
    if len(short):
        pairs = ", ".join(f"({i}, {loc})" for i, loc in short.head(5).itertuples(index=False))
        raise ValueError(
            f"{path}: ({named.item_col}, {named.location_col}) {pairs}: no row on some of the "
            f"{config.holdout_days} held-back days from {cutoff.date()}, which the demo replays "
            "its plan on (give those days, with demand 0 where nothing sold)"
        )
    return DemoData(spec, observed.reset_index(drop=True), cutoff, None, None,
                    tuple(spec.static_categoricals))  # fmt: skip


def _fill_gaps(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (observed daily rows) with a row for every day between each series' first and
    last one: demand 0 and the covariates of the day before, as the panel's store fills them
    (:mod:`forecasting.validate`)."""
    span = frame.groupby(KEYS, observed=True)[DATE].agg(["min", "max"])
    days = ((span["max"] - span["min"]).dt.days + 1).to_numpy()
    if days.sum() == len(frame):
        return frame
    offset = np.arange(days.sum()) - np.repeat(np.cumsum(days) - days, days)
    grid = span.index.to_frame(index=False).iloc[np.repeat(np.arange(len(span)), days)]
    grid = grid.reset_index(drop=True)
    grid[DATE] = np.repeat(span["min"].to_numpy(), days) + offset.astype("timedelta64[D]")
    full = grid.merge(frame, on=[*KEYS, DATE], how="left")
    full[DEMAND] = full[DEMAND].fillna(0)
    others = [c for c in full.columns if c not in (*KEYS, DATE, DEMAND)]
    if others:
        full[others] = full.groupby(KEYS, observed=True)[others].ffill()
    return full


def check_horizon(data: DemoData, config: DemoConfig) -> None:
    """Before any training: the forecasts the loop makes need the known covariates of every
    period forecast, and the table ends with the held-back weeks. The plan forecasts
    ``horizon`` days from the cutoff, the monitor's champion and challenger the same from the
    middle of the held-back weeks, so the horizon must fit in their second half."""
    if not (data.spec.known_reals or data.spec.known_categoricals):
        return  # nothing known to run out of: a forecast reaches past the table's end
    second = config.holdout_days - config.holdout_days // 2
    if config.horizon > second:
        raise ValueError(
            f"--horizon {config.horizon}: longer than the second half of the held-back weeks "
            f"({second} days of --holdout-weeks {config.holdout_weeks}), which the monitor "
            "forecasts from its start with the known covariates the table has; give a shorter "
            f"--horizon or --holdout-weeks {-(-2 * config.horizon // 7)} or more"
        )

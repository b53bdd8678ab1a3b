"""A validated panel as (series x period) NumPy grids: what the store and the ONNX runtime share.

:class:`~forecasting.store.PanelStore` turns these grids into tensors for training and
prediction in torch; ``serving.runtime`` cuts the same grids into windows for onnxruntime, with
no torch at all. Both go through the functions here, so a forecast from a model package sees
exactly the inputs the PyTorch model saw:

* the target, NaN where unobserved, gaps inside a series' history filled with 0;
* known and observed reals forward-filled inside the history, then z-scored per series over
  its history (a series without history: over the rows a forecast reads; NaN -> 0), so rows
  past the origin never move the scaling;
* categorical levels as strings, gap periods repeating the level of the period before
  (a level unseen in training maps to the unknown code when it is encoded, never to a neighbour);
* dates on the panel's own calendar, extended past the last row for the forecast horizon.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.spec import DATE, DEMAND, ITEM, LOCATION, PanelSpec
from forecasting.validate import PanelError, period_index, resolve_spec

UNKNOWN = 0
NO_ROW = "<stockcast:no-row>"
"""The categorical level of a period the table has no row for (it encodes to ``UNKNOWN``)."""
FLAT_STD = 1e-6
"""A spread at or below this is a flat feature: it is scaled by 1, not by its spread."""


def calendar_features(dates: pd.DatetimeIndex, freq: str) -> tuple[np.ndarray, dict[str, int]]:
    """Calendar categorical codes (T, K) and the cardinality of each (codes start at 1)."""
    if freq == "D":
        columns = {
            "day_of_week": dates.dayofweek.to_numpy() + 1,
            "day_of_month": dates.day.to_numpy(),
            "month": dates.month.to_numpy(),
        }
        sizes = {"day_of_week": 8, "day_of_month": 32, "month": 13}
    elif freq == "W":
        # ISO week 53 exists in one year of five or six (2015, 2020, 2026...): a history
        # without one would forecast it from an embedding that never trained. It is the last
        # week of its year, so it reads week 52's level (the size stays 54 for saved runs).
        week = dates.isocalendar().week.to_numpy(dtype=np.int64)
        columns = {"week_of_year": np.minimum(week, 52), "month": dates.month.to_numpy()}
        sizes = {"week_of_year": 54, "month": 13}
    else:
        columns = {"month": dates.month.to_numpy()}
        sizes = {"month": 13}
    codes = np.stack([np.asarray(v, dtype=np.int64) for v in columns.values()], axis=1)
    return codes, sizes


def date_grid(
    first: pd.Timestamp, periods: int, freq: str, month_end: bool = False, day: int | None = None
):
    """The dates of ``periods`` consecutive periods starting at ``first``; a monthly grid falls
    on the ``day`` of each month (default: ``first``'s), its last day where the month is shorter
    (a panel on the 30th reads 28 February and 30 March)."""
    if freq == "D":
        return pd.DatetimeIndex(first + pd.to_timedelta(np.arange(periods), unit="D"))
    if freq == "W":
        return pd.DatetimeIndex(first + pd.to_timedelta(7 * np.arange(periods), unit="D"))
    if month_end:
        return pd.date_range(first, periods=periods, freq="ME")
    months = pd.date_range(first.replace(day=1), periods=periods, freq="MS")
    days = np.minimum(first.day if day is None else day, months.days_in_month)
    return pd.DatetimeIndex(months + pd.to_timedelta(days - 1, unit="D"))


def dates_before(first: pd.Timestamp, periods: int, freq: str) -> pd.DatetimeIndex:
    """The dates of the ``periods`` periods before ``first``, oldest first: where an encoder
    longer than the table's history reaches (their calendar is known, nothing else is)."""
    steps = np.arange(-periods, 0)
    if freq in ("D", "W"):
        return pd.DatetimeIndex(first + pd.to_timedelta((7 if freq == "W" else 1) * steps, "D"))
    return pd.DatetimeIndex([first + pd.DateOffset(months=int(k)) for k in steps])


def days_since_epoch(dates: pd.DatetimeIndex) -> np.ndarray:
    """Dates as int64 days since 1970-01-01: how a model package takes them."""
    return dates.to_numpy(dtype="datetime64[D]").astype(np.int64)


def ffill_time(values: np.ndarray, limit: np.ndarray | None = None) -> np.ndarray:
    """Forward-fill NaN along axis 1 of (G, T[, F]); positions >= ``limit[g]`` are left alone."""
    if values.ndim == 2:
        return ffill_time(values[:, :, None], limit)[:, :, 0]
    g, t, f = values.shape
    finite = np.isfinite(values)
    index = np.where(finite, np.arange(t)[None, :, None], 0)
    np.maximum.accumulate(index, axis=1, out=index)
    filled = np.take_along_axis(values, index, axis=1)
    # Index 0 with no finite value there yet: nothing to carry (leading NaN or infinity).
    filled[(index == 0) & ~finite[:, :1]] = np.nan
    if limit is not None:
        beyond = np.arange(t)[None, :] >= limit[:, None]
        filled[beyond] = values[beyond]
    return filled


def standardize(values: np.ndarray, history: int) -> np.ndarray:
    """Per-row z-score over the first ``history`` periods (in place); NaN afterwards -> 0."""
    return _zscore(values, values[:, :history])


_ZSCORE_BLOCK = 2**22
"""Values z-scored in float64 at a time by :func:`_zscore` (32 MiB of temporaries)."""


def _zscore(values: np.ndarray, window: np.ndarray) -> np.ndarray:
    """``values`` z-scored per row (in place) with the mean and standard deviation of
    ``window`` (NaN ignored; a flat or empty window scales by 1); NaN afterwards -> 0."""
    # Centred in float64, a block of rows at a time: the mean rounded to float32 first was off
    # by up to half a rounding step of the level, so a price of 1299.99 whose one-cent cuts
    # have a std of 0.004 read 0.013 std high throughout (values at float32's step, 1e6 and
    # 1e6 + 0.0625, read 0 and 2 for -1 and 1), where training windows, z-scored in float64
    # (windows._gather_as_of), read them exactly.
    step = max(1, _ZSCORE_BLOCK // max(1, values[:1].size))
    for lo in range(0, len(values), step):
        mean, std = _mean_std(window[lo : lo + step], axis=1)
        part = values[lo : lo + step]  # its window rows were read above (window may be a view)
        part[...] = (part - mean) / std
    np.nan_to_num(values, copy=False, nan=0.0)
    return values


def _mean_std(window: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean (NaN ignored; none: 0) and standard deviation (flat, empty or not finite: 1)
    along ``axis`` (kept), in float64.

    The values are converted to float64 first: ``np.nanstd(..., dtype=np.float64)`` of a
    float32 array squares the deviations in float32 (numpy's nanvar writes them into a copy
    of the input's dtype), so a real whose values spread by more than about 1.8e19 (float32
    holds up to 3.4e38) had an infinite std, scaled by 1: values of 1e30 read about 1e29
    where training windows (windows._gather_as_of, in float64) read them about 1. (Summed
    in float32, a flat window, a price of 13.02 every day, had a mean off by a rounding step
    and a std of 2e-6, so it read -1 instead of 0 and a later change of a cent -15000.)"""
    window = np.asarray(window, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(window, axis=axis, keepdims=True)
        std = np.nanstd(window, axis=axis, keepdims=True)
    mean = np.nan_to_num(mean)
    std = np.where(np.isfinite(std) & (std > FLAT_STD), std, 1.0)
    return mean, std


def history_stop(end: np.ndarray, fallback: int) -> np.ndarray:
    """Per series, one past the periods its known reals are z-scored over: its history (up to
    ``end``, one past its last observed period), or ``fallback`` periods for a series without
    one (a new item: the rows a forecast reads)."""
    end = np.asarray(end, dtype=np.int64)
    return np.where(end > 0, end, fallback)


def standardize_history(values: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Per-row z-score over the periods before ``stop[row]`` (in place); NaN -> 0.

    A known real (a price) is scaled by its series' history alone, so rows a table holds past
    the origin (a longer price plan, the periods a cumulative forecast does not sum) never move
    the scaling of the periods a forecast reads, and a backtest at an origin scales as a table
    ending there does."""
    t = values.shape[1]
    inside = np.arange(t)[None, :] < np.asarray(stop)[:, None]
    window = np.where(inside[..., None] if values.ndim == 3 else inside, values, np.nan)
    return _zscore(values, window)


def known_until(values: np.ndarray, origins: np.ndarray | None = None) -> np.ndarray:
    """Per row, one past the last period where every feature is present; with ``origins``
    (one per row), one past the unbroken run of present periods from the row's origin: a
    period missing inside the horizon ends what is known, whatever later rows hold."""
    present = np.isfinite(values).all(axis=2) if values.ndim == 3 else np.isfinite(values)
    t = present.shape[1]
    if origins is not None:
        missing = ~present & (np.arange(t)[None, :] >= np.asarray(origins)[:, None])
        return np.where(missing.any(axis=1), np.argmax(missing, axis=1), t)
    last = t - np.argmax(present[:, ::-1], axis=1)
    return np.where(present.any(axis=1), last, 0)


def fill_gaps(target: np.ndarray, chunk: int = 65536) -> tuple[np.ndarray, np.ndarray]:
    """First / one-past-last observed period per series; NaN between them -> 0 (in place)."""
    n_series, n_periods = target.shape
    start = np.zeros(n_series, dtype=np.int64)
    end = np.zeros(n_series, dtype=np.int64)
    steps = np.arange(n_periods)
    for lo in range(0, n_series, chunk):  # chunks keep the boolean temporaries small
        block = target[lo : lo + chunk]
        observed = np.isfinite(block)
        has = observed.any(axis=1)
        s = np.where(has, np.argmax(observed, axis=1), 0)
        e = np.where(has, n_periods - np.argmax(observed[:, ::-1], axis=1), 0)
        gap = ~observed & (steps >= s[:, None]) & (steps < e[:, None])
        block[gap] = 0.0
        start[lo : lo + chunk], end[lo : lo + chunk] = s, e
    return start, end


def process_reals(values: np.ndarray, end: np.ndarray | None) -> np.ndarray:
    """Forward-fill inside the history (up to ``end``; all of it for shared rows) and z-score
    observed-only reals over that history alone (see :func:`observed_until`)."""
    filled = ffill_time(values, limit=end)
    if end is not None:
        filled = observed_until(filled, end)
    return standardize(filled, values.shape[1])


def observed_until(values: np.ndarray, end: np.ndarray) -> np.ndarray:
    """A copy of observed-only reals (S, T[, F]) blank from each series' ``end`` (its forecast
    origin) on: they are known only up to the origin, so a value a table holds on a future row
    must not reach the forecast, not even through the series' z-score."""
    blanked = np.array(values, dtype=np.float32, copy=True)
    blanked[np.arange(values.shape[1])[None, :] >= np.asarray(end)[:, None]] = np.nan
    return blanked


def static_stats(values: np.ndarray) -> dict[str, list[float]]:
    """The mean and standard deviation across series of each static real (S, R), as
    :func:`standardize_static` uses them: a run keeps its training table's, so a prediction
    table of other (or fewer) series is scaled as training was."""
    # Summed in float64, as _zscore does: in float32 a static real of 27.34 for every
    # series had a mean off by a rounding step and a std of 2e-6, so a new series at
    # 27.35 read about 5000 instead of 0.01.
    mean, std = (stat[0] for stat in _mean_std(values, axis=0))
    return {"mean": mean.astype(float).tolist(), "std": std.astype(float).tolist()}


def standardize_static(
    values: np.ndarray, stats: dict[str, list[float]] | None = None
) -> np.ndarray:
    """Static reals z-scored across series (S, R), with ``stats`` (:func:`static_stats` of the
    training table) where given, else with this table's own."""
    stats = static_stats(values) if stats is None else stats
    # In float64 (as _zscore): a mean rounded to float32 put every series of a static real
    # near 1299.99 with a spread of cents a hundredth of a std or more off.
    mean = np.asarray(stats["mean"], dtype=np.float64)
    std = np.asarray(stats["std"], dtype=np.float64)
    return np.nan_to_num((values - mean) / std, nan=0.0).astype(np.float32)


def available_memory() -> int:
    """Bytes of physical memory available now (the whole memory where that is not known)."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def check_memory(n_series: int, n_periods: int, spec: PanelSpec, dates: pd.Series) -> None:
    """Refuse a grid that would not fit in memory, before building it: a date typo or a wrong
    frequency turns a small table into a huge grid."""
    per_cell = 4 * (1 + len(spec.known_reals) + len(spec.known_categoricals))
    per_cell += 4 * len(spec.observed_reals)
    # Building holds about three copies of the largest block (grid, filled, standardized).
    needed = 3 * n_series * n_periods * per_cell
    available = available_memory()
    if needed > 0.8 * available:
        raise PanelError(
            DATE,
            f"the panel spans {n_periods:,} periods ({dates.min().date()} .. "
            f"{dates.max().date()}) for {n_series:,} series: about {needed / 2**30:.1f} GiB, "
            f"more than the {available / 2**30:.1f} GiB available; check the dates and the "
            f"frequency",
        )


@dataclass
class PanelGrid:
    """A validated panel on its (series x period) grid; see the module docstring."""

    spec: PanelSpec
    dates: pd.DatetimeIndex  # (T,)
    keys: pd.DataFrame  # (S,) item_id, location_id, static categoricals, as strings
    target: np.ndarray  # (S, T) float32, NaN unobserved, history gaps 0
    start: np.ndarray  # (S,) first observed period
    end: np.ndarray  # (S,) one past the last observed period
    first_row: np.ndarray  # (S,) first period the table has a row for
    known_real: np.ndarray  # (S, T, Fk) float32, raw (process with process_reals)
    known_cat_codes: np.ndarray  # (S, T, Fc) int32 into known_cat_levels, gaps filled, -1: no row
    known_cat_levels: tuple[np.ndarray, ...]  # per known categorical, its levels (object)
    observed_real: np.ndarray  # (S, T, Fo) float32, raw
    static_real: np.ndarray | None  # (S, R) float32, raw

    @property
    def n_series(self) -> int:
        return self.target.shape[0]

    def known_levels(self, k: int, cells=(slice(None), slice(None)), no_row=None) -> np.ndarray:
        """The levels of known categorical ``k`` at ``cells`` (an index of the (S, T) grid)
        as an object array, ``no_row`` where the table has no row."""
        table = np.append(self.known_cat_levels[k], np.array([no_row], dtype=object))
        return table[self.known_cat_codes[(*cells, k)]]  # code -1 picks ``no_row``


def series_numbers(frame: pd.DataFrame) -> np.ndarray:
    """Per row, its (item, location) series numbered in order of first appearance, as
    ``groupby([item, location], sort=False).ngroup()`` numbers them, from integer codes (a
    third of the time on string keys; categoricals bring their own)."""
    item = _codes(frame[ITEM]).astype(np.int64)
    location = _codes(frame[LOCATION])
    return pd.factorize(item * (int(location.max(initial=0)) + 1) + location)[0]


def _codes(values: pd.Series) -> np.ndarray:
    """Integer codes of a column's values (a categorical's own codes)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy()
    return pd.factorize(values)[0]


def build_grid(frame: pd.DataFrame, spec: PanelSpec, extra_periods: int = 0) -> PanelGrid:
    """Lay a panel checked by :func:`forecasting.validate.validate_panel` (canonical names, sorted
    by item, location, date) on its grid, ``extra_periods`` past the last row."""
    spec = resolve_spec(frame, spec)
    series_codes = series_numbers(frame)
    n_series = int(series_codes.max()) + 1
    first = series_codes != np.r_[-1, series_codes[:-1]]
    keys = frame.loc[first, [ITEM, LOCATION, *spec.static_categoricals]].reset_index(drop=True)

    periods = period_index(frame[DATE], spec.freq)
    t_index = periods - periods.min()
    first_row = t_index[first].astype(np.int64)  # (S,) first period with a row
    n_periods = int(t_index.max()) + 1 + extra_periods
    check_memory(n_series, n_periods, spec, frame[DATE])
    month_end = spec.freq == "M" and bool(frame[DATE].dt.is_month_end.all())
    day = int(frame[DATE].dt.day.max()) if spec.freq == "M" else None
    dates = date_grid(frame[DATE].min(), n_periods, spec.freq, month_end, day)

    target = np.full((n_series, n_periods), np.nan, dtype=np.float32)
    target[series_codes, t_index] = frame[DEMAND].to_numpy(dtype=np.float32)
    start, end = fill_gaps(target)

    def grid(columns: tuple[str, ...], dtype, fill) -> np.ndarray:
        out = np.full((n_series, n_periods, len(columns)), fill, dtype=dtype)
        for k, column in enumerate(columns):
            out[series_codes, t_index, k] = frame[column].to_numpy()
        return out

    # Known categoricals as codes into their levels (-1: no row): an object grid of the
    # levels costs ten times more to fill and to encode.
    known_codes = np.full((n_series, n_periods, len(spec.known_categoricals)), -1, np.int32)
    levels = []
    for k, column in enumerate(spec.known_categoricals):
        codes, uniques = pd.factorize(frame[column], use_na_sentinel=False)
        known_codes[series_codes, t_index, k] = codes
        levels.append(np.asarray(uniques, dtype=object))
    if spec.known_categoricals:
        # Gap periods (no row inside the history) repeat the level of the period before.
        # (Periods before a series' first row have no level to repeat: they stay -1.)
        row = known_codes[:, :, 0] >= 0
        row_index = np.where(row, np.arange(n_periods), 0)
        np.maximum.accumulate(row_index, axis=1, out=row_index)
        t = np.arange(n_periods)
        gap = ~row & (t < end[:, None]) & (t > first_row[:, None])
        s_gap, t_gap = np.nonzero(gap)
        known_codes[s_gap, t_gap] = known_codes[s_gap, row_index[s_gap, t_gap]]
    static_real = None
    if spec.static_reals:
        static_real = frame.loc[first, list(spec.static_reals)].to_numpy(dtype=np.float32)
    return PanelGrid(
        spec=spec,
        dates=dates,
        keys=keys.astype(str),
        target=target,
        start=start,
        end=end,
        first_row=first_row,
        known_real=grid(spec.known_reals, np.float32, np.nan),
        known_cat_codes=known_codes,
        known_cat_levels=tuple(levels),
        observed_real=grid(spec.observed_reals, np.float32, np.nan),
        static_real=static_real,
    )


def horizon_rows(frame: pd.DataFrame, spec: PanelSpec, horizon: int) -> pd.DataFrame:
    """The rows of a prediction table checked by :func:`forecasting.validate.validate_panel`
    that a forecast of ``horizon`` periods reads: each series' history and its rows up to
    ``horizon`` periods past its forecast origin (the period after its last observed demand;
    a series with no history, its first row). A series with history scales its reals by that
    history alone; one without (a new item) scales them over the rows read, so rows further
    ahead (a price plan longer than the horizon) would move its forecast."""
    if len(frame) == 0:
        return frame
    spec = resolve_spec(frame, spec)
    codes = series_numbers(frame)
    periods = period_index(frame[DATE], spec.freq)
    observed = frame[DEMAND].notna().to_numpy()
    n_series = int(codes.max()) + 1
    none = np.iinfo(np.int64).min
    last = np.full(n_series, none, dtype=np.int64)
    np.maximum.at(last, codes[observed], periods[observed])
    first = np.full(n_series, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, codes, periods)
    origin = np.where(last > none, last + 1, first)
    keep = periods < origin[codes] + horizon
    return frame if keep.all() else frame.loc[keep].reset_index(drop=True)


def forecast_origins(end: np.ndarray, first_row: np.ndarray | None) -> np.ndarray:
    """Per series, the period its forecast starts: after its last observation, or at its first
    row for a series with no history (a new item with only future rows; 0 where that row is the
    table's first period). Without ``first_row`` (arrays), 0 means no data."""
    if first_row is None:
        return end
    return np.where(end > 0, end, first_row)


def launch_origin(end: np.ndarray, first_row: np.ndarray | None) -> int | None:
    """The forecast origin a lead-time table counts from (the period after the table's last
    observed one), for shifting the series launched after it; ``None`` without a new series'
    first rows or without any observed demand (no origin to count from)."""
    latest = int(np.max(end)) if len(end) else 0
    return latest if first_row is not None and latest > 0 else None


def ended_early(
    keys: pd.DataFrame,
    dates: pd.DatetimeIndex,
    end: np.ndarray,
    first_row: np.ndarray | None = None,
    cumulative: int | None = None,
) -> str | None:
    """A warning for the series whose last observed demand comes before the table's latest
    (``end``: one past each series' last observed period, 0 without history), and for the
    series without history whose first row (``first_row``) comes before the period after it,
    or ``None``. With ``cumulative`` (a lead-time table of that many periods, which has no
    dates) also a note of the series without history whose first row comes after that period
    (a launch ahead): their rows are shifted by their launch (see
    :func:`forecasting.tables.shift_launches`).

    Each series is forecast from the period after its own last observation: one that stopped
    selling months before the others (discontinued, or a table that lists only the days with
    sales) is forecast for those past periods, and its lead-time demand, which has no dates,
    would be planned as today's. A series without history is forecast from its first row: one
    listed with empty demand over past periods (an item off sale) is forecast for those. The
    message names how many and the earliest of them."""
    end = np.asarray(end, dtype=np.int64)
    latest = int(end.max()) if len(end) else 0

    def named(rows: np.ndarray, period: np.ndarray, what: str) -> str:
        """The first three of ``rows``, earliest ``period`` first, with that period's date."""
        rows = rows[np.argsort(period[rows], kind="stable")]
        return ", ".join(
            f"{keys[ITEM].iat[s]} @ {keys[LOCATION].iat[s]} ({what} {dates[period[s]].date()})"
            for s in rows[:3]
        )

    messages = []
    early = np.flatnonzero((end > 0) & (end < latest))
    if len(early):
        named_early = named(early, end - 1, "last observed")
        messages.append(
            f"{len(early)} of {len(end)} series end before the table's last observed period "
            f"({dates[latest - 1].date()}), e.g. {named_early}: each is forecast from the period "
            "after its own last observation, so one that stopped selling is forecast for past "
            "periods (and its lead-time demand planned as if current); give their demand up to "
            "the last period (0 where nothing sold) or leave ended series out"
        )
    if first_row is not None and latest > 0:
        first_row = np.asarray(first_row, dtype=np.int64)
        unsold = np.flatnonzero((end == 0) & (first_row < latest))
        if len(unsold):
            named_unsold = named(unsold, first_row, "first row")
            messages.append(
                f"{len(unsold)} of {len(end)} series have no observed demand and rows from "
                f"before the table's last observed period ({dates[latest - 1].date()}), e.g. "
                f"{named_unsold}: a series without history is forecast from its first row, so "
                "each is forecast for past periods (and its lead-time demand planned as if "
                "current); "
                "give their demand (0 where nothing sold) or start their rows at the forecast "
                "origin"
            )
        # The mirror case: a launch listed from a later period is forecast from its first row
        # too; its lead-time rows, which have no dates and which a plan reads as the next
        # periods' demand from the origin, are shifted by its launch (0 before it, see
        # forecasting.tables.shift_launches). Named: a user may not expect the zeros.
        ahead = np.flatnonzero((end == 0) & (first_row > latest)) if cumulative else []
        if len(ahead):
            named_ahead = named(ahead, first_row, "first row")
            beyond = int((first_row[ahead] - latest >= int(cumulative)).sum())
            past = (
                f"; {beyond} start {cumulative} or more periods after it: every row 0"
                if beyond
                else ""
            )
            messages.append(
                f"{len(ahead)} of {len(end)} series have no observed demand and start after "
                f"the forecast origin ({dates[latest].date()}), e.g. {named_ahead}: their "
                "lead-time rows are shifted by their launch, so each row h is the demand of the "
                "origin's next h periods (0 up to the launch, then the launch's first periods')"
                f"{past}"
            )
    for message in messages:
        warnings.warn(message, UserWarning, stacklevel=3)
    return "; ".join(messages) or None


def known_rows_until(grid: PanelGrid) -> np.ndarray:
    """Per series, one past the unbroken run of periods the table has a row for from its
    forecast origin: how far its known categoricals reach (a missing value on a row is a level
    of its own; a period with no row has none)."""
    rows = np.where((grid.known_cat_codes >= 0).all(axis=2), 0.0, np.nan)
    return known_until(rows, forecast_origins(grid.end, grid.first_row))


def check_horizon(
    keys: pd.DataFrame,
    until: np.ndarray | None,
    n_periods: int,
    spec: PanelSpec,
    series: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    columns: str | None = None,
    dates: pd.DatetimeIndex | None = None,
) -> None:
    """Raise if known covariates (``until``: one past each series' last period with every known
    real present; ``None`` without known reals) do not cover ``horizon`` periods from each
    origin, naming the series; with the grid's ``dates``, each named series' forecast start
    and the last period its covariates reach."""
    if len(series) == 0:
        return
    need = origins + horizon
    reach = until[series] if until is not None else np.full(len(series), n_periods)
    short = need > reach
    if short.any():
        bad = series[short]

        def name(k: int) -> str:
            i = bad[k]
            text = f"{keys[ITEM].iat[i]}@{keys[LOCATION].iat[i]}"
            if dates is None:
                return text
            # A series whose demand stops before the others' (its latest rows not loaded yet)
            # is forecast from the period after its own last observed demand, so its future
            # rows must start there: the dates say so where "add future rows" alone did not
            # (its later rows were there, the ones just after its history were not).
            start, last = int(origins[short][k]), int(reach[short][k]) - 1
            start_text = dates[start].date() if start < len(dates) else "after the table"
            last_text = dates[last].date() if 0 <= last < len(dates) else "no period"
            return f"{text} forecast from {start_text}, covariates filled up to {last_text}"

        names = ", ".join(name(k) for k in range(min(5, len(bad))))
        columns = columns or ", ".join(spec.known_reals) or DATE
        raise PanelError(
            columns,
            f"the horizon of {horizon} periods is longer than the known covariates for "
            f"{len(bad)} series (add future rows with these columns filled, from each one's "
            "forecast start: the period after its last observed demand)",
            rows=list(bad),
            detail=f"e.g. {names}",
        )


def group_prior(
    target: np.ndarray,
    keys: pd.DataFrame,
    static_categoricals: tuple[str, ...],
    cutoff: int | None = None,
    fallback: float | None = None,
) -> np.ndarray:
    """Per series, the mean demand per period of its peers before ``cutoff``.

    Peers share the location and every static categorical (category, department...); a group
    with no history falls back to the location, then to ``fallback`` (default: the panel mean).
    This is how a new item borrows the level of similar items before it has history of its own.
    """
    history = target if cutoff is None else target[:, :cutoff]
    observed = np.isfinite(history)
    total = np.where(observed, history, 0.0).sum(axis=1, dtype=np.float64)
    count = observed.sum(axis=1).astype(np.float64)
    overall = float(total.sum() / max(count.sum(), 1.0)) if fallback is None else fallback
    prior = np.full(len(total), overall, dtype=np.float64)
    for columns in ([LOCATION], [LOCATION, *static_categoricals]):  # finer groups overwrite
        groups = keys.groupby(list(columns), sort=False).ngroup().to_numpy()
        sums = np.bincount(groups, weights=total)
        counts = np.bincount(groups, weights=count)
        known = counts[groups] > 0
        prior = np.where(known, sums[groups] / np.maximum(counts[groups], 1.0), prior)
    return prior.astype(np.float32)

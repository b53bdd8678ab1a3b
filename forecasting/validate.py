"""Validation of a long demand panel, with errors that name the column and the rows.

Rules (documented here because users rely on them):

* Keys ``item_id``, ``location_id``, ``date`` must be present, parseable and unique together.
* ``demand`` must be numeric and >= 0. It may be empty only on a series' *trailing* rows: those are
  future rows that carry known covariates for the forecast horizon. An empty demand between
  observed ones is an error.
* Dates must sit on the panel's frequency grid (daily: midnight; weekly: one weekday for the whole
  panel; monthly: one day of the month, or every date a month end).
* Gaps (periods missing between a series' first and last observed row) are filled with demand 0
  and the covariates of the period before (``gaps="zero"``, the default: a period with no sales
  record is a period with no sales), or rejected (``gaps="error"``). The fill happens when the
  panel is turned into a store; the report counts the filled periods.
* Known reals (price...) missing on a series' leading rows where demand is 0 mean the item was not
  on sale yet: those rows are dropped (the series launches at its first priced row; M5 has this).
  Missing where demand was recorded is an error. Missing after launch inside the history is
  filled forward; missing on future rows limits how far the series can be forecast.
* Observed reals missing are filled forward within a series, leading gaps with 0.
* Static covariates must be constant within a series; static reals must not be missing.
  Missing categorical values are a level of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasting.spec import DATE, DEMAND, ITEM, KEYS, LOCATION, PanelSpec

MISSING_LEVEL = "<NA>"


class PanelError(ValueError):
    """Bad input in a demand panel; ``column`` names the field and ``rows`` the offending rows."""

    def __init__(self, column: str, problem: str, rows: list | None = None, detail: str = ""):
        self.column = column
        self.problem = problem
        self.detail = detail
        self.rows = list(rows) if rows is not None else []
        message = f"{column}: {problem}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)


def _rows_detail(frame: pd.DataFrame, mask: np.ndarray | pd.Series, limit: int = 5) -> tuple:
    """Row labels of ``mask`` and a short description of the first few with their keys."""
    selected = frame.loc[np.asarray(mask, dtype=bool)]
    labels = selected.index.tolist()
    examples = []
    for label, row in selected.head(limit).iterrows():
        keys = ", ".join(f"{k}={row[k]!r}" for k in KEYS if k in frame.columns)
        examples.append(f"row {label}: {keys}")
    more = f"; {len(labels) - limit} more" if len(labels) > limit else ""
    return labels, f"{len(labels)} rows; " + "; ".join(examples) + more


def _fail(frame: pd.DataFrame, column: str, problem: str, mask) -> None:
    rows, detail = _rows_detail(frame, mask)
    raise PanelError(column, problem, rows, detail)


@dataclass
class ValidationReport:
    """What validation changed: rows dropped before launch, gaps that will be filled."""

    n_rows: int = 0
    n_series: int = 0
    prelaunch_rows_dropped: int = 0
    gap_periods: int = 0
    series_with_gaps: int = 0
    future_rows: int = 0
    notes: list[str] = field(default_factory=list)


def period_index(dates: pd.Series, freq: str) -> np.ndarray:
    """Integer period number of each date (consecutive periods differ by 1)."""
    values = dates.to_numpy(dtype="datetime64[D]").astype(np.int64)
    if freq == "D":
        return values
    if freq == "W":
        return values // 7
    years = dates.dt.year.to_numpy(dtype=np.int64)
    return years * 12 + dates.dt.month.to_numpy(dtype=np.int64) - 1


def _check_grid(frame: pd.DataFrame, freq: str) -> None:
    dates = frame[DATE]
    off_midnight = dates != dates.dt.normalize()
    if off_midnight.any():
        _fail(frame, DATE, "times of day found; dates must be whole days", off_midnight)
    if freq == "W":
        weekday = dates.dt.weekday
        anchor = weekday.mode().iloc[0]
        _irregular(
            frame, weekday != anchor, f"weekly panel, but not every date is weekday {anchor}"
        )
    elif freq == "M":
        month_end = dates.dt.is_month_end
        if not month_end.all():
            day = dates.dt.day
            anchor = day.mode().iloc[0]
            _irregular(
                frame, day != anchor, f"monthly panel, but dates fall on days other than {anchor}"
            )


def _irregular(frame: pd.DataFrame, mask: pd.Series, problem: str) -> None:
    if mask.any():
        _fail(frame, DATE, f"irregular dates: {problem}", mask)


def validate_panel(
    frame: pd.DataFrame, spec: PanelSpec, gaps: str = "zero"
) -> tuple[pd.DataFrame, ValidationReport]:
    """Check a canonical-named panel and return a clean copy sorted by item, location, date.

    Raises :class:`PanelError` naming the column and rows for every rule in this module's doc;
    key columns are named as the user's table names them (``sales (demand)``).
    """
    try:
        return _validate(frame, spec, gaps)
    except PanelError as error:
        user = {canonical: name for name, canonical in spec.rename_map().items()}
        if user.get(error.column, error.column) == error.column:
            raise
        named = f"{user[error.column]} ({error.column})"
        raise PanelError(named, error.problem, error.rows, error.detail) from None


def _validate(
    frame: pd.DataFrame, spec: PanelSpec, gaps: str
) -> tuple[pd.DataFrame, ValidationReport]:
    if gaps not in ("zero", "error"):
        raise ValueError(f"gaps: expected 'zero' or 'error', got {gaps!r}")
    report = ValidationReport()
    for column in (*KEYS, DEMAND):
        if column not in frame.columns:
            raise PanelError(column, f"missing column; columns present: {list(frame.columns)}")
    for role, columns in spec.roles().items():
        for column in columns:
            if column not in frame.columns:
                raise PanelError(column, f"missing column (declared as {role})")
    frame = frame[[*KEYS, DEMAND, *spec.covariates()]].copy()
    frame.index = pd.RangeIndex(len(frame))
    if len(frame) == 0:
        raise PanelError(DEMAND, "the panel has no rows")

    for column in (ITEM, LOCATION):
        missing = frame[column].isna()
        if missing.any():
            _fail(frame, column, "missing key values", missing)
        frame[column] = frame[column].astype(str)

    raw_dates = frame[DATE]
    dates = pd.to_datetime(raw_dates, errors="coerce")
    bad_dates = dates.isna()
    if bad_dates.any():
        examples = raw_dates[bad_dates].astype(str).head(3).tolist()
        _fail(frame, DATE, f"unparseable or missing dates, e.g. {examples}", bad_dates)
    frame[DATE] = dates.astype("datetime64[ns]")

    raw_demand = frame[DEMAND]
    demand = pd.to_numeric(raw_demand, errors="coerce")
    non_numeric = demand.isna() & raw_demand.notna()
    if non_numeric.any():
        examples = raw_demand[non_numeric].astype(str).head(3).tolist()
        _fail(frame, DEMAND, f"non-numeric values, e.g. {examples}", non_numeric)
    infinite = ~np.isfinite(demand.fillna(0.0).to_numpy(dtype=float))
    if infinite.any():
        _fail(frame, DEMAND, "infinite values", infinite)
    negative = demand < 0
    if negative.any():
        _fail(frame, DEMAND, "negative values", negative)
    frame[DEMAND] = demand.astype("float32")

    duplicated = frame.duplicated(subset=list(KEYS), keep=False)
    if duplicated.any():
        _fail(frame, DATE, "duplicate (item_id, location_id, date) keys", duplicated)

    _check_grid(frame, spec.freq)
    frame = frame.sort_values([ITEM, LOCATION, DATE], kind="stable")
    series = frame.groupby([ITEM, LOCATION], sort=False, observed=True).ngroup().to_numpy()

    # Empty demand is allowed only after a series' last observed demand (future rows).
    observed = frame[DEMAND].notna().to_numpy()
    position = np.arange(len(frame))
    last_observed = pd.Series(np.where(observed, position, -1)).groupby(series).transform("max")
    interior_missing = ~observed & (position < last_observed.to_numpy())
    if interior_missing.any():
        _fail(
            frame,
            DEMAND,
            "missing (NaN) values before the series' last observed demand; only trailing "
            "future rows may leave demand empty",
            interior_missing,
        )
    no_history = last_observed.to_numpy() < 0
    report.future_rows = int((~observed).sum())

    frame, dropped = _drop_prelaunch(frame, spec, series, observed)
    report.prelaunch_rows_dropped = dropped
    series = frame.groupby([ITEM, LOCATION], sort=False, observed=True).ngroup().to_numpy()
    observed = frame[DEMAND].notna().to_numpy()

    _check_static(frame, spec, series)
    for column in spec.static_categoricals + spec.known_categoricals:
        values = frame[column]
        frame[column] = values.astype(object).where(values.notna(), MISSING_LEVEL).astype(str)
    for column in spec.static_reals + spec.known_reals + spec.observed_reals:
        values = pd.to_numeric(frame[column], errors="coerce")
        non_numeric = values.isna() & frame[column].notna()
        if non_numeric.any():
            _fail(frame, column, "non-numeric values", non_numeric)
        frame[column] = values.astype("float32")
    for column in spec.known_reals:
        # Fill forward inside the observed history only; future rows keep their gaps.
        filled = frame[column].groupby(series).ffill()
        frame[column] = frame[column].where(~observed, filled)
    for column in spec.observed_reals:
        frame[column] = frame[column].groupby(series).ffill().fillna(0.0)

    periods = period_index(frame[DATE], spec.freq)
    obs_periods = pd.Series(np.where(observed, periods, np.nan))
    grouped = obs_periods.groupby(series)
    span = (grouped.max() - grouped.min() + 1).fillna(0)
    count = grouped.count()
    missing_periods = (span - count).astype(int)
    report.gap_periods = int(missing_periods.sum())
    report.series_with_gaps = int((missing_periods > 0).sum())
    if report.gap_periods and gaps == "error":
        bad_series = missing_periods.index[missing_periods.to_numpy() > 0]
        _fail(frame, DATE, "gaps: periods missing inside the series", np.isin(series, bad_series))

    if no_history.all():
        raise PanelError(DEMAND, "no series has any observed demand")
    report.n_rows = len(frame)
    report.n_series = int(series.max()) + 1 if len(series) else 0
    return frame.reset_index(drop=True), report


def _drop_prelaunch(
    frame: pd.DataFrame, spec: PanelSpec, series: np.ndarray, observed: np.ndarray
) -> tuple[pd.DataFrame, int]:
    if not spec.known_reals:
        return frame, 0
    present = frame[list(spec.known_reals)].notna().all(axis=1).to_numpy()
    launched = pd.Series(present).groupby(series).cummax().to_numpy()
    before = ~launched
    sold = before & observed & (frame[DEMAND].to_numpy() > 0)
    if sold.any():
        column = next(c for c in spec.known_reals if frame.loc[sold, c].isna().any())
        _fail(
            frame, column, "missing where demand was recorded (needed to launch the series)", sold
        )
    # Future rows before launch are not "pre-launch history": leave them for the horizon check.
    drop = before & observed
    return frame.loc[~drop], int(drop.sum())


def _check_static(frame: pd.DataFrame, spec: PanelSpec, series: np.ndarray) -> None:
    for column in spec.static_reals:
        missing = frame[column].isna()
        if missing.any():
            _fail(frame, column, "static real missing", missing)
    for column in spec.static_categoricals + spec.static_reals:
        values = frame[column].astype(object).where(frame[column].notna(), MISSING_LEVEL)
        varies = pd.Series(values.to_numpy()).groupby(series).transform("nunique").to_numpy() > 1
        if varies.any():
            _fail(frame, column, "static covariate changes within a series", varies)

"""Validation of a long demand panel, with errors that name the column and the rows.

Rules (documented here because users rely on them):

* Keys ``item_id``, ``location_id``, ``date`` must be present, parseable and unique together;
  item or location values that differ only by spaces around them (``"A "``, ``"A"``) are an
  error.
* ``demand`` must be numeric and >= 0. It may be empty only on a series' *trailing* rows: those are
  future rows that carry known covariates for the forecast horizon. An empty demand between
  observed ones is an error.
* The frequency is inferred from the dates when the spec leaves it out (pandas' inference over
  the dates of all series, then the smallest step between them); a given frequency that the dates
  contradict is an error. The panel keeps its anchor: month-start dates stay month starts,
  month ends stay month ends, weeks keep their weekday.
* Dates with a time zone are read as their local calendar days.
* Dates must sit on the panel's frequency grid (daily: midnight; weekly: one weekday for the whole
  panel; monthly: one day of the month, or every date a month end).
* Gaps (periods missing between a series' first and last observed row) are filled with demand 0
  and the covariates of the period before (a period with no sales record is a period with no
  sales). With ``gaps="auto"`` (the default) that is done only while the filled periods add at
  most 5% to the rows: more usually means a wrong frequency, and is an error that says how many
  and which frequency the dates suggest. ``gaps="zero"`` fills any number, ``gaps="error"``
  rejects any. The fill happens when the panel is turned into a store; the report counts it.
* Known reals (price...) missing on a series' leading rows where demand is 0 mean the item was not
  on sale yet: those rows are dropped (the series launches at its first priced row; M5 has this).
  Missing where demand was recorded is an error. Missing after launch inside the history is
  filled forward; missing on future rows limits how far the series can be forecast.
* Observed reals missing are filled forward within a series, leading gaps with 0.
* Static covariates must be constant within a series; static reals must not be missing.
  Missing categorical values are a level of their own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from forecasting.spec import DATE, DEMAND, FREQ_NAMES, ITEM, KEYS, LOCATION, PanelSpec
from kernels.io import level_text, read_dates

MISSING_LEVEL = "<NA>"
# Largest share of rows that gap filling may add under ``gaps="auto"``.
MAX_GAP_SHARE = 0.05
DAY_NS = 86_400 * 10**9
# The longest span of a table's dates, in days: pandas' Timedelta holds 106,751 (292 years),
# and a grid reaches a horizon past the last date.
MAX_SPAN_DAYS = 100_000
_FIRST_DAY, _LAST_DAY = pd.Timestamp("1677-09-22"), pd.Timestamp("2262-04-11")


def text_levels(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Each row's code into the column's distinct values written as text (-1: missing): a
    categorical's categories, or the uniques of anything else, each converted once (on a
    527,800-row M5 column 5 ms, where ``astype(str)`` takes 60-100 ms)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        uniques = values.cat.categories
    else:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64), level_text(pd.Index(uniques))


def missing_as_saved(values: np.ndarray, vocab: list[str]) -> np.ndarray:
    """Levels as a saved vocabulary knows them: a run saved before empty text and missing
    values became one level learnt the empty text as ``""``; its missing level reads as that."""
    values = _whole_as_saved(values, vocab)
    if MISSING_LEVEL in vocab or "" not in vocab:
        return values
    values = np.asarray(values, dtype=object)
    return np.where(values == MISSING_LEVEL, "", values)


def unseen_message(unseen: dict[str, list[str]], vocab: dict[str, list[str]]) -> str:
    """The warning for categorical levels a run's vocabulary lacks (``unseen``: column ->
    levels). Where zero-padded codes are levels the vocabulary has without their zeros, it says
    why and what to do: a run trained before 2026-12-05 on a CSV learnt ``007`` as the number
    the CSV reader made of it, ``7``, and a table read as text now finds none of its codes."""
    listed = "; ".join(f"{c}: {v[:10]}" for c, v in unseen.items())
    message = f"categories unseen in training map to the unknown embedding: {listed}"
    for column, levels in unseen.items():
        known = set(vocab.get(column, ()))
        padded = [v for v in levels if re.fullmatch(r"0+\d+", v) and v.lstrip("0") in known]
        if padded:
            return (
                f"{message}. {len(padded)} of the {len(levels)} unseen {column} levels are "
                f"levels of the run without their leading zeros ({padded[0]!r} is "
                f"{padded[0].lstrip('0')!r}): the run learnt these codes as numbers, as a CSV "
                "was read before 2026-12-05. Retrain it on this table, or give the codes as "
                "the run learnt them (without the leading zeros)"
            )
    return message


def _whole_as_saved(values: np.ndarray, vocab: list[str]) -> np.ndarray:
    """A whole number as the vocabulary spells it. A float column's whole values read as
    integers (``1``) when all of a table's values are whole and as ``1.0`` when it also holds
    a fraction, so one level has two spellings across tables: a prediction table without the
    training table's fractions (or with a new item's fraction) reads ``1`` for a ``1.0`` the
    model learnt, or the reverse. A level the vocabulary lacks reads as its other spelling
    where the vocabulary has that one."""
    values = np.asarray(values, dtype=object)
    known = set(vocab)
    alias = {}
    for level in pd.unique(values.reshape(-1)):
        if not isinstance(level, str) or level in known:
            continue
        other = level[:-2] if level.endswith(".0") else level + ".0"
        if other in known and _is_number(level):
            alias[level] = other
    if not alias:
        return values
    flat = values.reshape(-1)
    out = np.array([alias.get(v, v) if isinstance(v, str) else v for v in flat], dtype=object)
    return out.reshape(values.shape)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _text_column(
    text: pd.Index, codes: np.ndarray, missing: str | None, categories: bool
) -> pd.Index | pd.Categorical:
    """``text[codes]`` (code -1: ``missing``), as text or as a categorical of that text."""
    absent = codes < 0
    if absent.any():
        text = text.append(pd.Index([missing], dtype=text.dtype))
        codes = np.where(absent, len(text) - 1, codes)
    if not categories:
        return text.take(codes)
    merged, distinct = pd.factorize(text)  # two values may read the same as text
    return pd.Categorical.from_codes(merged[codes], categories=pd.Index(distinct), validate=False)


def _check_spaced_keys(frame: pd.DataFrame, column: str, codes: np.ndarray, text: pd.Index):
    """Refuse key values that are another's but for spaces around them (``"A "`` beside
    ``"A"``, a spreadsheet's stray space or non-breaking space): they were two series, each with
    part of the item's history (a migration's rows "A " before and "A" after were two short
    series, forecast apart), without a word."""
    stripped = pd.Index(text.str.strip())
    twice = stripped.duplicated(keep=False)
    if not twice.any():
        return
    clash = stripped[twice][0]
    spellings = sorted(str(t) for t, s in zip(text, stripped, strict=True) if s == clash)
    _fail(
        frame,
        column,
        f"values that differ only by spaces around them, e.g. {spellings}: they would be "
        "separate series; remove the spaces",
        np.isin(codes, np.flatnonzero(twice)),
    )


def _sorted_codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes of a key column (no missing values) numbering its text in sorted order, and that
    text: distinct values whose text is the same (``1`` and ``"1"``) are one key."""
    codes, text = text_levels(values)
    merged, distinct = pd.factorize(text, sort=True)
    return merged[codes], pd.Index(distinct)


class PanelError(ValueError):
    """Bad input in a demand panel; ``column`` names the field and ``rows`` the offending rows.

    ``hint`` says what a command line can do about it (``mapped with --location-col``,
    ``--gaps zero``); it is part of the message, but not of :meth:`for_request`, which words
    the error for a caller that sent the rows as a list and has no flags (the HTTP service).
    """

    def __init__(
        self, column: str, problem: str, rows: list | None = None, detail: str = "", hint: str = ""
    ):
        self.column = column
        self.problem = problem
        self.detail = detail
        self.hint = hint
        self.rows = list(rows) if rows is not None else []
        message = f"{column}: {problem}"
        if hint:
            message += f" ({hint})"
        if detail:
            message += f" ({detail})"
        super().__init__(message)

    def for_request(self) -> str:
        """The message for rows sent as a list: row numbers are list positions (no CSV lines)
        and no command-line hint."""
        message = f"{self.column}: {self.problem}"
        detail = _CSV_LINE.sub("", self.detail)  # the examples' "row 3 (CSV line 5)" -> "row 3"
        return message + (f" ({detail})" if detail else "")


_CSV_LINE = re.compile(r" \(CSV line \d+\)")


def _true_false(raw: pd.Series) -> np.ndarray:
    """Where a column holds booleans: all of a boolean column, or bool objects among numbers."""
    if pd.api.types.is_bool_dtype(raw.dtype):
        return raw.notna().to_numpy(dtype=bool)
    if raw.dtype == object:
        return np.fromiter((isinstance(v, bool | np.bool_) for v in raw), bool, len(raw))
    return np.zeros(len(raw), dtype=bool)


def _parse_dates(frame: pd.DataFrame, raw: pd.Series) -> pd.Series:
    """Dates from strings, datetimes or integers written as YYYYMMDD, by
    :func:`kernels.io.read_dates` (the simulation reads a demand table's dates by the same
    rules); a column it refuses is a :class:`PanelError` naming the rows."""
    return read_dates(raw, lambda problem, rows: _fail(frame, DATE, problem, rows))


def _rows_detail(frame: pd.DataFrame, mask: np.ndarray | pd.Series, limit: int = 5) -> tuple:
    """Row labels of ``mask`` and a short description of the first few with their keys."""
    selected = frame.loc[np.asarray(mask, dtype=bool)]
    labels = selected.index.tolist()
    examples = []
    for label, row in selected.head(limit).iterrows():
        keys = ", ".join(f"{k}={_plain(row[k])!r}" for k in KEYS if k in frame.columns)
        # Rows count from 0 as in the table; a person reading the CSV counts the header as 1.
        where = f"row {label} (CSV line {label + 2})" if isinstance(label, int) else f"row {label}"
        examples.append(f"{where}: {keys}")
    more = f"; {len(labels) - limit} more" if len(labels) > limit else ""
    return labels, f"{len(labels)} rows; " + "; ".join(examples) + more


def _plain(value):
    """A cell as a person wrote it: dates without a time of day, numpy scalars as numbers."""
    if isinstance(value, pd.Timestamp):
        return str(value.date()) if value == value.normalize() else str(value)
    return value.item() if hasattr(value, "item") else value


def _check_float32(frame: pd.DataFrame, column: str, values: np.ndarray) -> None:
    """Refuse infinite ``values`` and those past float32's range, which the panel holds them in:
    there they became infinite and were then read as missing (a demand as a gap filled with 0,
    a price forward filled from the period before)."""
    infinite = np.isinf(values)
    if infinite.any():
        _fail(frame, column, "infinite values", infinite)
    limit = np.finfo(np.float32).max
    too_large = np.abs(values) > limit
    if too_large.any():
        _fail(frame, column, f"values beyond float32's {limit:.4g} (infinite as held)", too_large)


def _fail(frame: pd.DataFrame, column: str, problem: str, mask, hint: str = "") -> None:
    rows, detail = _rows_detail(frame, mask)
    raise PanelError(column, problem, rows, detail, hint)


@dataclass
class ValidationReport:
    """What validation changed: rows dropped before launch, gaps that will be filled."""

    n_rows: int = 0
    n_series: int = 0
    prelaunch_rows_dropped: int = 0
    gap_periods: int = 0
    series_with_gaps: int = 0
    future_rows: int = 0
    freq: str = ""  # the frequency the panel was read at (given or inferred)
    freq_inferred: bool = False
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


def infer_frequency(dates: pd.Series | pd.DatetimeIndex) -> str | None:
    """``D``, ``W`` or ``M`` from the dates of all series together; ``None`` if they do not say.

    pandas' own inference runs on the sorted distinct dates; where they are irregular (a period
    no series has a row for) the smallest step between them decides: 1 day, a multiple of 7 days
    with one weekday, or one month with one day of the month (or all month ends).
    Raises :class:`PanelError` for a regular grid stockcast does not model (hours, quarters...),
    with a period missing or not.
    """
    unique = pd.DatetimeIndex(pd.unique(pd.DatetimeIndex(dates))).sort_values()
    if len(unique) < 2:
        return None
    step = int(np.diff(unique.to_numpy(dtype="datetime64[D]").astype(np.int64)).min())
    # Months before weeks: February 1 to March 1 (or January 31 to February 28) of a common
    # year is 28 days between dates of one weekday, and dates on one day of the month are
    # months, not every fourth week.
    monthly = 28 <= step and bool(on_month_day(unique).all())
    alias = pd.infer_freq(unique) if len(unique) >= 3 else None
    if alias is not None:
        base = alias.lstrip("0123456789")
        # Every k-th day too, and business days (daily dates without weekends): gap filling
        # counts (and refuses, unless asked to fill) the skipped days. Not dates on one day of
        # the month that happen to be evenly spaced: 15 July, August and September are 31
        # days apart each, which pandas calls '31D'.
        if base in ("D", "B"):
            return "M" if monthly else "D"
        if alias.startswith("W-"):
            return "W"
        if alias in ("MS", "ME", "M"):
            return "M"
        if not (base == "D" or base.startswith("W-") or base in ("MS", "ME", "M")):
            raise PanelError(
                DATE,
                f"the dates are spaced by pandas frequency {alias!r}; stockcast models daily "
                f"(D), weekly (W) and monthly (M) panels",
            )
        # Every k-th week or month (2W-SUN, 2MS): the step rule below names the base
        # frequency, and gap filling then counts (and refuses) the skipped periods.
    if step == 1:
        return "D"
    if monthly:
        # Quarters or years with a period missing: pandas names no frequency, and read as
        # months the panel would be refused for gaps, or turned into zero months by the fill.
        every = int(np.gcd.reduce(np.diff(unique.year * 12 + unique.month)))
        if len(unique) >= 3 and every >= 3:
            raise PanelError(
                DATE,
                f"the dates fall only every {every} months (quarterly or yearly data?); "
                f"stockcast models daily (D), weekly (W) and monthly (M) panels",
            )
        return "M"
    if step % 7 == 0 and unique.weekday.nunique() == 1:
        return "W"
    return None


def _resolve_freq(
    dates: pd.DatetimeIndex, spec: PanelSpec, report: ValidationReport, trained: bool = False
) -> str:
    """The spec's frequency checked against the (distinct) dates, or the one they show.
    ``trained``: the spec's frequency is a fitted model's, which no flag changes."""
    inferred = infer_frequency(dates)
    given = spec.freq
    if given is None:
        if inferred is None:
            raise PanelError(
                DATE,
                "cannot infer the frequency from the dates (too few distinct dates or an "
                "irregular spacing)",
                hint="give it with --freq D, W or M",
            )
        report.freq, report.freq_inferred = inferred, True
        report.notes.append(f"frequency {inferred} ({FREQ_NAMES[inferred]}) inferred from dates")
        return inferred
    # Irregular dates a day apart somewhere (one row a day off a weekly or monthly grid) read as
    # daily; a weekly or monthly frequency given for them is not contradicted: the grid check
    # names the rows off it (the gap hint for such dates asks for that frequency).
    drifted = inferred == "D" and given in ("W", "M") and not _regular(dates)
    if inferred is not None and inferred != given and not drifted and trained:
        # "give --freq" would be refused: a prediction's --freq must be the run's.
        raise PanelError(
            DATE,
            f"the dates are {FREQ_NAMES[inferred]} ({inferred}) but the model was trained on "
            f"{FREQ_NAMES[given]} ({given}) data",
            hint=f"give it a {FREQ_NAMES[given]} table, or train a model on this one",
        )
    if inferred is not None and inferred != given and not drifted:
        raise PanelError(
            DATE,
            f"the dates are {FREQ_NAMES[inferred]} ({inferred}) but the frequency was given as "
            f"{given} ({FREQ_NAMES[given]})",
            hint=f"leave it out to infer it, or give --freq {inferred}",
        )
    report.freq = given
    return given


def _regular(dates: pd.DatetimeIndex) -> bool:
    """Whether pandas reads the (sorted, distinct) dates as evenly spaced."""
    return len(dates) >= 3 and pd.infer_freq(dates) is not None


def resolve_spec(frame: pd.DataFrame, spec: PanelSpec) -> PanelSpec:
    """``spec`` with its frequency inferred from ``frame``'s dates where it is not given."""
    if spec.freq is not None:
        return spec
    dates = pd.to_datetime(frame[DATE], errors="coerce").dropna()
    freq = infer_frequency(dates)
    if freq is None:
        raise PanelError(DATE, "cannot infer the frequency from the dates; give it (freq)")
    return spec.with_freq(freq)


def on_month_day(dates: pd.Series | pd.DatetimeIndex, anchor: int | None = None) -> np.ndarray:
    """Whether each date is the panel's day of the month: ``anchor`` (default: the latest day
    among the dates), or the month's last day where the month is shorter (the 30th of each
    month is 28 or 29 February; the 31st is every month end), as the forecast dates are."""
    dates = pd.DatetimeIndex(dates)
    day = dates.day.to_numpy()
    anchor = int(day.max(initial=1)) if anchor is None else anchor
    return day == np.minimum(anchor, dates.days_in_month.to_numpy())


def _check_grid(frame: pd.DataFrame, freq: str) -> None:
    dates = frame[DATE]
    if freq == "W":
        weekday = dates.dt.weekday
        anchor = weekday.mode().iloc[0]
        _irregular(
            frame, weekday != anchor, f"weekly panel, but not every date is weekday {anchor}"
        )
    elif freq == "M":
        month_end = dates.dt.is_month_end
        if not month_end.all():
            # The panel's day: the commonest one names a stray row best (the 15th among 1sts),
            # the latest one a panel on the 30th whose clipped 28 Februaries are commonest.
            candidates = {int(dates.dt.day.mode().iloc[0]), int(dates.dt.day.max())}
            off = {day: ~on_month_day(dates, day) for day in sorted(candidates)}
            anchor = min(off, key=lambda day: int(off[day].sum()))
            _irregular(
                frame,
                off[anchor],
                f"monthly panel, but dates fall on days other than {anchor}"
                + (" (or the month's last day, where it is shorter)" if anchor > 28 else ""),
            )


def _irregular(frame: pd.DataFrame, mask: pd.Series, problem: str) -> None:
    if mask.any():
        _fail(frame, DATE, f"irregular dates: {problem}", mask)


def validate_panel(
    frame: pd.DataFrame,
    spec: PanelSpec,
    gaps: str | None = None,
    categories: bool = False,
    history: bool = True,
    trained: bool = False,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Check a canonical-named panel and return a clean copy sorted by item, location, date.

    ``gaps`` overrides ``spec.gaps``. The frequency the panel was read at (``spec.freq`` or the
    one inferred from the dates) is ``report.freq``; build the store with
    ``spec.with_freq(report.freq)``. Raises :class:`PanelError` naming the column and rows for
    every rule in this module's doc; key columns are named as the user's table names them
    (``sales (demand)``). With ``categories``, the keys and categorical covariates come as
    pandas categoricals of their text instead of text: the same values, a fraction of the cost
    to build and to group (what :func:`forecasting.grid.build_grid` is given internally).
    ``trained``: ``spec`` is a fitted model's, its frequency not the user's to change (a
    table at another one is refused as such, not with advice to give ``--freq``).
    """
    try:
        gaps = spec.gaps if gaps is None else gaps
        return _validate(frame, spec, gaps, categories, history, trained)
    except PanelError as error:
        # Name columns and example rows as the user's table names them.
        user = {canonical: name for name, canonical in spec.rename_map().items()}
        detail = error.detail
        for canonical, name in user.items():
            if name != canonical:
                detail = detail.replace(f"{canonical}=", f"{name}=")
        named = error.column
        if user.get(error.column, error.column) != error.column:
            named = f"{user[error.column]} ({error.column})"
        # The key triple some problems name ("duplicate (item_id, location_id, date) keys").
        triple = f"({', '.join(KEYS)})"
        problem = error.problem.replace(triple, f"({', '.join(user.get(k, k) for k in KEYS)})")
        if (named, detail, problem) == (error.column, error.detail, error.problem):
            raise
        raise PanelError(named, problem, error.rows, detail, error.hint) from None


def _validate(
    frame: pd.DataFrame,
    spec: PanelSpec,
    gaps: str,
    categories: bool,
    history: bool = True,
    trained: bool = False,
) -> tuple[pd.DataFrame, ValidationReport]:
    if gaps not in ("auto", "zero", "error"):
        raise ValueError(f"gaps: expected 'auto', 'zero' or 'error', got {gaps!r}")
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

    # The checks run on numpy arrays and integer codes; the clean frame is taken once, in its
    # final order, at the end (taking text columns row by row is most of pandas' cost here).
    keys = {}
    for column in (ITEM, LOCATION):
        missing = frame[column].isna()
        if missing.any():
            _fail(frame, column, "missing key values", missing)
        keys[column] = _sorted_codes(frame[column])
        _check_spaced_keys(frame, column, *keys[column])

    raw_dates = frame[DATE]
    dates = _parse_dates(frame, raw_dates)
    bad_dates = dates.isna()
    if bad_dates.any():
        examples = raw_dates[bad_dates].astype(str).head(3).tolist()
        _fail(frame, DATE, f"unparseable or missing dates, e.g. {examples}", bad_dates)
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_localize(None)  # a date with a time zone is its local calendar day
    # Nanoseconds span 1677-09-22 .. 2262-04-11; numpy's conversion wraps a date past them
    # (a typo for the year, 2924) round to a time of day in 1754.
    outside = (dates < _FIRST_DAY) | (dates > _LAST_DAY)
    if outside.any():
        _fail(frame, DATE, f"dates outside {_FIRST_DAY.date()} .. {_LAST_DAY.date()}", outside)
    day = dates.to_numpy().astype("datetime64[ns]")  # numpy converts units 20x faster
    frame[DATE] = day
    off_midnight = day.view(np.int64) % DAY_NS != 0
    if off_midnight.any():
        _fail(frame, DATE, "times of day found; dates must be whole days", off_midnight)
    # Whole days since the first, counted in days: in nanoseconds, dates more than 292 years
    # apart (1700 and 2023, a typo for the year) overflowed int64 (an IndexError, a 500).
    ordinal = day.astype("datetime64[D]").view(np.int64)
    days = ordinal - ordinal.min()
    if days.max() > MAX_SPAN_DAYS:
        ends = (days == 0) | (days == days.max())
        _fail(frame, DATE, f"dates span more than {MAX_SPAN_DAYS:,} days; check the years", ends)
    seen = np.zeros(int(days.max()) + 1, dtype=bool)
    seen[days] = True  # the distinct dates, without hashing every row
    distinct = pd.DatetimeIndex(day.min() + np.flatnonzero(seen) * DAY_NS)
    freq = _resolve_freq(distinct, spec, report, trained)

    raw_demand = frame[DEMAND]
    demand = pd.to_numeric(raw_demand, errors="coerce")
    # true/false are not sales: pandas reads them as 1/0 (a JSON row's "demand": true, a CSV
    # column of TRUE/FALSE), as the planning tables refuse them
    non_numeric = (demand.isna() & raw_demand.notna()) | _true_false(raw_demand)
    if non_numeric.any():
        examples = raw_demand[non_numeric].astype(str).head(3).tolist()
        _fail(frame, DEMAND, f"non-numeric values, e.g. {examples}", non_numeric)
    values = demand.to_numpy(dtype=np.float64, na_value=np.nan)
    _check_float32(frame, DEMAND, values)
    negative = values < 0
    if negative.any():
        _fail(frame, DEMAND, "negative values", negative)
    demand = values.astype(np.float32)

    # Sorted by item, location, date: the duplicates are then neighbours and a series is a
    # run of rows. A stable sort of one combined integer key; already-sorted input (the usual
    # case) costs one linear pass.
    item, location = keys[ITEM][0], keys[LOCATION][0]
    order = _sort_order(item, location, days, len(keys[LOCATION][1]))
    item, location, days = item[order], location[order], days[order]
    same_series = (item[1:] == item[:-1]) & (location[1:] == location[:-1])
    repeated = same_series & (days[1:] == days[:-1])
    if repeated.any():
        duplicated = np.zeros(len(frame), dtype=bool)
        duplicated[order[1:][repeated]] = duplicated[order[:-1][repeated]] = True
        _fail(frame, DATE, "duplicate (item_id, location_id, date) keys", duplicated)

    _check_grid(frame, freq)
    runs = Runs(np.r_[True, ~same_series])

    # Empty demand is allowed only after a series' last observed demand (future rows).
    observed = ~np.isnan(demand[order])
    position = np.arange(len(order))
    last_observed = runs.spread(runs.reduce(np.maximum, np.where(observed, position, -1)))
    interior_missing = ~observed & (position < last_observed)
    if interior_missing.any():
        _fail(
            frame.iloc[order],
            DEMAND,
            "missing (NaN) values before the series' last observed demand; only trailing "
            "future rows may leave demand empty",
            interior_missing,
        )
    no_history = last_observed < 0
    report.future_rows = int((~observed).sum())

    kept = _prelaunch_kept(frame, spec, order, runs, observed, demand[order])
    report.prelaunch_rows_dropped = int(len(kept) - kept.sum())
    if not kept.all():
        order, observed, runs = order[kept], observed[kept], runs.subset(kept)
    # The clean frame, in its final order; rows keep their labels (errors name them).
    built = {}
    for column in frame.columns:
        if column in keys:
            codes, text = keys[column]
            built[column] = _text_column(text, codes[order], None, categories)
        elif column == DATE:
            built[column] = day[order]
        elif column == DEMAND:
            built[column] = demand[order]
        else:
            built[column] = frame[column].array.take(order)
    clean = pd.DataFrame(built, index=pd.Index(order), copy=False)

    for column in spec.static_reals:
        missing = clean[column].isna()
        if missing.any():
            _fail(clean, column, "static real missing", missing)
    for column in spec.static_categoricals + spec.known_categoricals:
        codes, text = text_levels(clean[column])  # missing: code -1, a level of its own
        # Distinct values of one text (1, "1" and 1.0 in one object column: JSON rows, or a
        # history from a database beside future rows from a spreadsheet) are one level: a
        # static department of 1 and "1" was refused as changing within its series.
        merged, distinct = pd.factorize(text)
        codes = np.append(merged, -1)[codes]  # code -1 (missing) stays -1
        text = pd.Index(distinct)
        # An empty text is a missing level too: a CSV cannot tell them apart (its empty cell
        # reads as missing), so a table must not forecast otherwise once saved as CSV.
        blank = np.flatnonzero(np.asarray(text == "", dtype=bool))
        if len(blank):
            codes = np.where(np.isin(codes, blank), -1, codes)
        if column in spec.static_categoricals:
            _check_constant(clean, column, codes, runs)
        clean[column] = _text_column(text, codes, MISSING_LEVEL, categories)
    for column in spec.static_reals:
        _check_constant(clean, column, pd.factorize(clean[column])[0], runs)
    for column in spec.static_reals + spec.known_reals + spec.observed_reals:
        values = pd.to_numeric(clean[column], errors="coerce")
        non_numeric = values.isna() & clean[column].notna()
        if non_numeric.any():
            _fail(clean, column, "non-numeric values", non_numeric)
        reals = values.to_numpy(dtype=np.float64, na_value=np.nan)
        _check_float32(clean, column, reals)
        clean[column] = reals.astype(np.float32)
    for column in spec.known_reals:
        # Fill forward inside the observed history only; future rows keep their gaps.
        values = clean[column].to_numpy()
        clean[column] = np.where(observed, runs.ffill(values), values)
    for column in spec.observed_reals:
        filled = runs.ffill(clean[column].to_numpy())
        clean[column] = np.where(np.isnan(filled), np.float32(0.0), filled)

    periods = period_index(clean[DATE], freq)
    first = runs.reduce(np.minimum, np.where(observed, periods, np.iinfo(np.int64).max))
    last = runs.reduce(np.maximum, np.where(observed, periods, np.iinfo(np.int64).min))
    count = runs.reduce(np.add, observed.astype(np.int64))
    missing_periods = np.where(count > 0, last - first + 1 - count, 0)
    report.gap_periods = int(missing_periods.sum())
    report.series_with_gaps = int((missing_periods > 0).sum())
    with_gaps = runs.spread(missing_periods > 0)
    if report.gap_periods and gaps == "error":
        _fail(clean, DATE, "gaps: periods missing inside the series", with_gaps)
    n_observed = int(observed.sum())
    if gaps == "auto" and report.gap_periods > MAX_GAP_SHARE * n_observed:
        spacing, suggest = _gap_hint(clean, runs.series, observed, freq)
        _fail(
            clean,
            DATE,
            f"gaps: {report.gap_periods} {FREQ_NAMES[freq]} periods are missing inside "
            f"{report.series_with_gaps} series; filling them with zero demand would add "
            f"{report.gap_periods / max(n_observed, 1):.0%} to the {n_observed} observed rows "
            f"({spacing})",
            with_gaps,
            hint=(f"if it is, give --freq {suggest}; " if suggest and not trained else "")
            + "if a missing period means no sales, ask for the fill with --gaps zero (it "
            "fills between a series' first and last row: a table of the days with sales must "
            "also give each series a row, of 0, on the table's last date)",
        )

    if history and no_history.all():
        raise PanelError(DEMAND, "no series has any observed demand")
    report.n_rows = len(clean)
    report.n_series = runs.n
    return clean.reset_index(drop=True), report


def _gap_hint(
    frame: pd.DataFrame, series: np.ndarray, observed: np.ndarray, freq: str
) -> tuple[str, str | None]:
    """What the typical step between a series' rows suggests about the frequency, and the
    frequency it suggests where that is not ``freq``."""
    days = frame[DATE].to_numpy(dtype="datetime64[D]").astype(np.int64)[observed]
    steps = np.diff(days)[np.diff(series[observed]) == 0]
    if len(steps) == 0:
        return f"the panel was read as {FREQ_NAMES[freq]}", None
    typical = float(np.median(steps))
    suggest = "D" if typical < 4 else "W" if typical < 20 else "M"
    text = f"a series' rows are typically {typical:g} day{'' if typical == 1 else 's'} apart"
    if suggest == freq:
        return text, None
    return f"{text}: is the panel {FREQ_NAMES[suggest]}?", suggest


class Runs:
    """Rows grouped in runs (a series' rows together, in order): per-run reductions and
    broadcasts with numpy's ``reduceat``, where a pandas ``groupby`` costs 10-50x more."""

    def __init__(self, starts_run: np.ndarray):
        self.starts = np.flatnonzero(starts_run)  # first row of each run
        self.series = np.cumsum(starts_run) - 1  # each row's run
        self.n = len(self.starts)
        self.row_start = self.starts[self.series] if self.n else self.starts

    def subset(self, kept: np.ndarray) -> Runs:
        """The runs of the rows ``kept`` (a mask); a run with no row left is gone."""
        series = self.series[kept]
        return Runs(np.r_[True, series[1:] != series[:-1]][: len(series)])

    def reduce(self, ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
        """``ufunc`` over each run's rows: one value per run."""
        if self.n == 0:
            return values[:0]
        return ufunc.reduceat(values, self.starts)

    def spread(self, per_run: np.ndarray) -> np.ndarray:
        """Each row's value of its run."""
        return per_run[self.series]

    def ffill(self, values: np.ndarray) -> np.ndarray:
        """NaN filled forward from the run's earlier rows (leading NaN stay)."""
        position = np.arange(len(values))
        latest = np.maximum.accumulate(np.where(np.isnan(values), -1, position))
        inside = latest >= self.row_start  # the value carried forward is this run's own
        return np.where(inside, values[latest.clip(min=0)], values)

    def varies(self, codes: np.ndarray) -> np.ndarray:
        """Rows of the runs in which ``codes`` take more than one value."""
        changes = np.flatnonzero(codes[1:] != codes[:-1]) + 1
        changes = changes[self.series[changes] == self.series[changes - 1]]
        bad = np.zeros(self.n, dtype=bool)
        bad[self.series[changes]] = True
        return bad[self.series]


def _sort_order(item: np.ndarray, location: np.ndarray, days: np.ndarray, n_loc: int) -> np.ndarray:
    """Stable order of rows by (item, location, day) codes (all >= 0)."""
    span = int(days.max()) + 1
    if (int(item.max()) + 1) * max(n_loc, 1) * span < 2**62:
        return np.argsort((item * max(n_loc, 1) + location) * span + days, kind="stable")
    return np.lexsort((days, location, item))


def _prelaunch_kept(
    frame: pd.DataFrame,
    spec: PanelSpec,
    order: np.ndarray,
    runs: Runs,
    observed: np.ndarray,
    demand: np.ndarray,
) -> np.ndarray:
    """Which rows (in ``order``) are not pre-launch history: observed rows of a series before
    its first row with every known real present (they must have no demand)."""
    if not spec.known_reals:
        return np.ones(len(order), dtype=bool)
    present = np.logical_and.reduce([frame[c].notna().to_numpy() for c in spec.known_reals])
    present = present[order]
    position = np.arange(len(order))
    latest = np.maximum.accumulate(np.where(present, position, -1))
    before = latest < runs.row_start  # no priced row yet in this series
    sold = before & observed & (demand > 0)
    if sold.any():
        ordered = frame.iloc[order]
        column = next(c for c in spec.known_reals if ordered.loc[sold, c].isna().any())
        _fail(
            ordered,
            column,
            "missing where demand was recorded (needed to launch the series)",
            sold,
        )
    # Future rows before launch are not "pre-launch history": leave them for the horizon check.
    kept = ~(before & observed)
    if not kept.any():
        # No series was ever on sale: every row would be dropped, and the empty panel failed
        # later with numpy's "zero-size array to reduction operation maximum".
        ordered = frame.iloc[order]
        column = next(c for c in spec.known_reals if ordered[c].isna().any())
        _fail(
            ordered,
            column,
            "missing on every row, all of them pre-launch rows (no series was on sale), "
            "so no row is left to forecast from",
            ordered[column].isna().to_numpy(),
        )
    return kept


def _check_constant(frame: pd.DataFrame, column: str, codes: np.ndarray, runs: Runs) -> None:
    """A static covariate (its values as ``codes``) must not change within a series."""
    varies = runs.varies(codes)
    if varies.any():
        _fail(frame, column, "static covariate changes within a series", varies)

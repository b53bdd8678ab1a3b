"""Table-level API: ``plan(forecast, inventory, policy)``, ``allocate(...)`` and ``position(...)``.

Exported at the package root (``from kernels import plan, allocate, position, Policy``). This is
the only module of ``kernels`` that uses pandas for planning; it validates tables at the boundary
(errors name the column and the ``(item_id, location_id)`` keys), turns them into arrays and
calls the Numba kernels. Reading and writing files is :mod:`kernels.io`'s job.

**Forecast forms accepted by** :func:`plan` (recognised by their columns; one helper each:
``_plan_parametric``, ``_plan_cumulative_quantiles``, ``_plan_sample_paths``):

* *cumulative quantiles* -- ``item_id, location_id, horizon, q0.05, ..., q0.95``: quantiles of
  demand summed over steps 1..horizon, horizons 1..H for every key. A random lead time is handled
  by mixing the horizons' distributions with the lead-time probabilities (never by adding
  quantiles); a lead time between two steps (10 days of a weekly forecast) reads quantiles
  interpolated between them; the review period must be a whole number of steps (of days for a
  weekly forecast, of 1/31 of a step for a monthly one).
* *sample paths* -- ``item_id, location_id, sample, step, demand`` (long): the same number of
  paths and steps 1..H for every key. Each path gets its own lead time draw (bootstrapped from the
  lead-time records, else gamma with the inventory's mean/std), put on whole days as the other
  forms read it (2.5 days: 2 or 3, half the paths each), and contributes the sum of its
  first L (+R) daily demands.
* *parametric* -- ``item_id, location_id, demand_mean, demand_std`` (per step): moments
  ``d (L + R)``, ``(L + R) sd^2 + d^2 sL^2``, fitted to ``Policy.shape``, with the lead time
  on whole days as the other forms read it (a 2.5-day lead time is 2 or 3 days: ``sL^2``
  includes the 0.25 that split adds).

Per-step quantile tables (``step`` + quantile columns) are rejected: quantiles cannot be summed
over steps.

**Inventory** (one row per key): ``on_hand`` (required), ``on_order``, ``backorders`` (default 0),
``lead_time_mean``/``lead_time_std`` (days; required unless lead-time records are given),
``review_period`` (days; 0 = continuous review; the forecast's steps are ``Policy.step_days``
days each, 1 by default: a weekly forecast needs ``step_days=7``, and a forecast whose
``step_days`` column, which ``forecast predict --cumulative`` writes, says otherwise is an error),
``service_level``, ``service_type`` (``cycle``,
``fill_rate`` or ``newsvendor``), ``segment``, ``holding_cost`` (per unit per day, whatever
the forecast's step), ``margin`` (per unit short; both needed by ``newsvendor`` rows, both > 0:
their cycle service level is the critical ratio
``margin / (margin + holding_cost * max(review_period, 1))``, which must lie strictly inside
(0, 1) -- a row where it does not is an error, never clipped; a continuous-review row counts
one day of holding, not the textbook's lot / daily demand of an (s, Q) cycle, so give such rows
a ``review_period`` of their reorder cycle to get that), ``unit_cost``, ``case_pack``
(default 1), ``moq`` (default 0) and ``lot_size`` (continuous review; default
``Policy.default_cycle_days`` of mean demand; rounded up to whole case packs and to at least
``moq``). An inventory without rows plans nothing: the plan has its columns and no rows.
"""

from __future__ import annotations

import hashlib
import unicodedata

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from . import leadtime
from .allocation import allocate_samples
from .config import CYCLE, FILL_RATE, SERVICE_TYPE_NAMES, Policy
from .echelon import check_service_level, two_echelon_safety_stock
from .io import key_text
from .policies import (
    NoCycleDemandError,
    mean_from_quantiles,
    order_quantities,
    policy_from_quantiles,
    policy_from_samples,
    policy_parametric,
    round_lot_size,
)
from .validate import describe_rows

__all__ = ["KEYS", "Policy", "abc_segments", "allocate", "plan", "position"]

KEYS = ["item_id", "location_id"]


# --- validation helpers ------------------------------------------------------------------------


def _text_keyed(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its key columns as :func:`~kernels.io.key_text`, so tables read with
    different dtypes (a parquet forecast's text ids, a CSV's numbers) match key for key."""
    out = df.copy(deep=False)
    for key in KEYS:
        if key in out.columns:
            out[key] = key_text(out[key])
    return out


def _labels(keys: pd.DataFrame) -> list[str]:
    return [f"({i}, {loc})" for i, loc in zip(keys["item_id"], keys["location_id"])]


def _fail_rows(column: str, problem: str, mask: npt.ArrayLike, labels: list[str]) -> None:
    from .validate import fail

    fail(column, problem, np.asarray(mask), labels)


def _require_columns(df: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")


def _check_unique(df: pd.DataFrame, name: str, keys: list[str]) -> None:
    dup = df.duplicated(keys, keep=False).to_numpy()
    if dup.any():
        rows = df.loc[dup, keys].drop_duplicates().head(5)
        shown = ", ".join(str(tuple(r)) for r in rows.itertuples(index=False))
        raise ValueError(f"{name}: duplicate {'/'.join(keys)} rows: {shown}")


def _numbers(raw: pd.Series) -> np.ndarray:
    """A column's numbers as float64; what is not a number is NaN, true/false included: pandas
    reads a CSV column of true/false as booleans, and as 1/0 a ``review_period`` of true planned
    a 1-day review and a ``case_pack`` of TRUE one unit."""
    vals = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_bool_dtype(raw.dtype):
        return np.full(len(vals), np.nan)
    if raw.dtype == object:
        truth = np.fromiter((isinstance(v, bool | np.bool_) for v in raw), bool, len(raw))
        vals = np.where(truth, np.nan, vals)
    return vals


def _numeric(
    df: pd.DataFrame,
    column: str,
    labels: list[str],
    *,
    default: float | None = None,
    allow_missing: bool = False,
    field: str | None = None,
) -> np.ndarray:
    """A numeric column as float64; absent -> default (or an error if there is none).

    ``field`` names the column in errors (default: the column's own name)."""
    field = field or column
    if column not in df.columns:
        if default is None:
            raise ValueError(f"inventory: missing column {column}")
        return np.full(len(df), float(default))
    raw = df[column]
    vals = _numbers(raw)
    not_numeric = np.isnan(vals) & raw.notna().to_numpy()
    if not_numeric.any():
        _fail_rows(field, "not a number", not_numeric, labels)
    if not allow_missing:
        bad = ~np.isfinite(vals)
        if bad.any():
            _fail_rows(field, "missing or non-finite value", bad, labels)
    return vals


def _finite_or_missing(field: str, vals: np.ndarray, labels: list[str]) -> None:
    """A column that may be blank (a default or the lead-time records fill it) holds no
    infinity: one reached the kernels, which named their own arrays (``std_a``,
    ``weights_a``) by row index and warned of overflows on stderr."""
    bad = np.isinf(vals)
    if bad.any():
        _fail_rows(field, "missing or non-finite value", bad, labels)


def _blank_as_zero(vals: np.ndarray) -> np.ndarray:
    """Missing values (NaN) as 0; infinities stay, for the kernels to refuse."""
    return np.where(np.isnan(vals), 0.0, vals)


def _nonnegative(column: str, vals: np.ndarray, labels: list[str]) -> None:
    bad = vals < 0
    if bad.any():
        _fail_rows(column, "negative value", bad, labels)


def _whole_units(column: str, vals: np.ndarray, labels: list[str]) -> None:
    bad = np.isfinite(vals) & (vals != np.floor(vals))
    if bad.any():
        _fail_rows(column, "must be a whole number of units", bad, labels)


def _quantile_columns(df: pd.DataFrame) -> list[tuple[float, str]]:
    cols = []
    for c in df.columns:
        if isinstance(c, str) and c.startswith("q"):
            try:
                level = float(c[1:])
            except ValueError:
                continue
            cols.append((level, c))
    return sorted(cols)


# --- inventory --------------------------------------------------------------------------------

#: The inventory columns :func:`plan` reads; any other is carried along unread.
INVENTORY_COLUMNS = (
    *KEYS, "on_hand", "on_order", "backorders", "lead_time_mean", "lead_time_std",
    "review_period", "service_level", "service_type", "segment", "holding_cost", "margin",
    "unit_cost", "case_pack", "moq", "lot_size",
)  # fmt: skip


def _column_spelling(name) -> str:
    """A column name read loosely: Unicode NFKC, case folded, no surrounding spaces, and spaces
    or hyphens inside as one underscore (``On Order `` reads as ``on_order``)."""
    return "_".join(_loose_text(name).replace("-", " ").split())


def _check_column_names(df: pd.DataFrame, name: str, known: tuple[str, ...]) -> None:
    """A column spelled like one the table is read for but for spaces or case (a spreadsheet's
    ``"on_order "``, ``On Order``) is refused: unread, its values were left out without a word
    (the units on order, a row's own service level or case pack took their defaults)."""
    loose = {_column_spelling(column): column for column in known}
    for column in df.columns:
        meant = loose.get(_column_spelling(column))
        if meant is not None and column != meant:
            beside = f" beside {meant!r}" if meant in df.columns else ""
            raise ValueError(
                f"{name}: column {column!r}{beside} is spelled like {meant!r} but for spaces "
                f"or case, and would not be read; name it {meant!r}"
            )


def _prepare_inventory(inventory: pd.DataFrame, policy: Policy) -> dict:
    _check_column_names(inventory, "inventory", INVENTORY_COLUMNS)
    _require_columns(inventory, "inventory", KEYS + ["on_hand"])
    inv = inventory.reset_index(drop=True)
    match = _text_keyed(inv[KEYS])
    for key in KEYS:
        # A blank key is no item or location: it matched a forecast's blank key and was planned.
        blank = match[key].isna().to_numpy()
        if blank.any():
            raise ValueError(f"inventory: {key}: missing value at {describe_rows(blank)}")
    _check_unique(match, "inventory", KEYS)
    labels = _labels(inv)
    n = len(inv)
    # "keys": the inventory's own, for the plan; "match": as text, to find the other tables' rows
    out: dict = {"keys": inv[KEYS].copy(), "match": match, "labels": labels}
    for col, default in (("on_hand", None), ("on_order", 0.0), ("backorders", 0.0)):
        vals = _numeric(inv, col, labels, default=default)
        _nonnegative(col, vals, labels)
        out[col] = vals
    out["review_period"] = _numeric(inv, "review_period", labels, default=0.0)
    _nonnegative("review_period", out["review_period"], labels)
    out["case_pack"] = _numeric(inv, "case_pack", labels, default=1.0)
    bad = out["case_pack"] <= 0
    if bad.any():
        _fail_rows("case_pack", "must be > 0", bad, labels)
    out["moq"] = _numeric(inv, "moq", labels, default=0.0)
    _nonnegative("moq", out["moq"], labels)
    lot = _numeric(inv, "lot_size", labels, default=np.nan, allow_missing=True)
    _finite_or_missing("lot_size", lot, labels)
    bad = lot <= 0
    if bad.any():
        _fail_rows("lot_size", "must be > 0", bad, labels)
    out["lot_size"] = lot
    for col in ("lead_time_mean", "lead_time_std"):
        vals = _numeric(inv, col, labels, default=np.nan, allow_missing=True)
        _finite_or_missing(col, vals, labels)
        _nonnegative(col, vals, labels)
        out[col] = vals

    # Service type and level per row: the row's own, else its segment's, else the policy's.
    if "service_type" in inv.columns:
        st = inv["service_type"].fillna(policy.service_type).astype(str).to_numpy(dtype=object)
    else:
        st = np.full(n, policy.service_type, dtype=object)
    bad = ~np.isin(st, SERVICE_TYPE_NAMES)
    if bad.any():
        _fail_rows("service_type", f"must be one of {', '.join(SERVICE_TYPE_NAMES)}", bad, labels)
    level = np.full(n, policy.service_level)
    if "segment" in inv.columns and policy.segment_service_levels:
        # Matched as text: a CSV's segment 1 (or 1.0) is the flag's or JSON's "1".
        levels = dict(policy.segment_service_levels)
        # Each name as its own column would read it: 1.0 names "1", as a whole float key does.
        names = [str(key_text(pd.Series([name]))[0]) for name in levels]
        by_text = dict(zip(names, levels.values(), strict=True))
        text = pd.Series(key_text(inv["segment"]), dtype=object)
        seg = text.map(by_text)
        # Read as text (segment "01" is not 1), a CSV column of whole numbers that a missing
        # cell made float holds "1.0": it names segment "1" unless a "1.0" is given as such.
        whole = text.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
        seg = seg.fillna(whole.map(by_text)).to_numpy(dtype=np.float64)
        level = np.where(np.isnan(seg), level, seg)
        # A segment spelled like a level's name but for spaces, case or Unicode form (an ERP's
        # padded "A ", "a") took the policy's level without a word, as a lead-time record
        # spelled so was left unread.
        unset = np.isnan(seg) & text.notna().to_numpy()
        if "service_level" in inv.columns:  # a row's own level is used before its segment's
            unset &= inv["service_level"].isna().to_numpy()
        loose = {_loose_text(name): name for name in names}
        unread = text[unset]
        near = unread.map({v: loose.get(_loose_text(v)) for v in unread.unique()}).dropna()
        if len(near):
            first = near.index[0]
            _fail_rows(
                "segment",
                f"{text[first]!r} has no service level but is spelled like the segment "
                f"{near[first]!r} of the segment levels (spaces, case or Unicode form differ); "
                "spell the segments as the levels do",
                text.index.isin(near.index),
                labels,
            )
    if "service_level" in inv.columns:
        own = _numeric(inv, "service_level", labels, default=np.nan, allow_missing=True)
        level = np.where(np.isnan(own), level, own)
    bad = ~((level > 0) & (level < 1))
    if bad.any():
        _fail_rows("service_level", "must be strictly between 0 and 1", bad, labels)
    news = st == "newsvendor"
    if news.any():
        margin = _numeric(inv, "margin", labels, default=np.nan, allow_missing=True)
        hold = _numeric(inv, "holding_cost", labels, default=np.nan, allow_missing=True)
        bad = news & ~(np.isfinite(margin) & np.isfinite(hold) & (margin >= 0) & (hold >= 0))
        if bad.any():
            _fail_rows(
                "margin/holding_cost",
                "newsvendor rows need a finite margin >= 0 and holding_cost >= 0",
                bad,
                labels,
            )
        # Underage: the margin of a lost sale; overage: carrying a unit for one review cycle.
        # A ratio of 0 or 1 has no quantile to stock to: such rows are errors, never clipped.
        cycle = np.maximum(out["review_period"], 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = margin / (margin + hold * cycle)
        bad = news & ~(ratio < 1)
        if bad.any():
            _fail_rows(
                "holding_cost",
                "newsvendor rows need holding_cost > 0 (with none, or one negligible next to the "
                "margin, the critical ratio is 1 and the quantity unbounded)",
                bad,
                labels,
            )
        bad = news & ~(ratio > 0)
        if bad.any():
            _fail_rows(
                "margin",
                "newsvendor rows need margin > 0 (with none the critical ratio is 0 and nothing is "
                "worth stocking)",
                bad,
                labels,
            )
        level = np.where(news, ratio, level)
    out["service_type"] = st
    out["service_level"] = level
    out["kernel_service_type"] = np.where(st == "fill_rate", FILL_RATE, CYCLE)
    return out


def _lead_time_records(lead_times: pd.DataFrame | None, keys: pd.DataFrame) -> list:
    """Observed lead times per inventory key (None where a key has none)."""
    if lead_times is None:
        return [None] * len(keys)
    _require_columns(lead_times, "lead_times", KEYS + ["lead_time_days"])
    days = _numbers(lead_times["lead_time_days"])
    bad = ~np.isfinite(days) | (days < 0)
    if bad.any():
        _fail_rows(
            "lead_time_days",
            "missing, non-numeric or negative lead time",
            bad,
            _labels(lead_times.reset_index(drop=True)),
        )
    lt = _text_keyed(lead_times)
    # Each record's row among the keys (its key's first row), found for all records at once:
    # a dictionary of pandas groups cost 35 us a key (38 s of a million-key plan's 45).
    first = np.flatnonzero(~keys.duplicated(KEYS).to_numpy())
    pos = pd.MultiIndex.from_frame(keys.iloc[first][KEYS]).get_indexer(
        pd.MultiIndex.from_frame(lt[KEYS])
    )
    found = pos >= 0
    row = first[pos[found]]
    # Sorted: a key's records are a set of observations, and the bootstrap draws (sample-path
    # plans, simulate) pick them by position, so the table's row order moved reorder points.
    order = np.lexsort((days[found], row))
    counts = np.bincount(row, minlength=len(keys))
    chunks = np.split(days[found][order], np.cumsum(counts)[:-1]) if len(keys) else []
    records = [chunk if n else None for chunk, n in zip(chunks, counts, strict=True)]
    # The keys of records no row has, each once in the table's order.
    by_key = list(lt.loc[~found, KEYS].drop_duplicates().itertuples(index=False, name=None))
    blank = [k for k in by_key if any(pd.isna(v) or not str(v).strip() for v in k)]
    if blank:
        raise ValueError(
            f"lead_times: {len(blank)} record key(s) have a blank item_id or location_id: "
            f"{', '.join(str(k) for k in blank[:5])}"
        )
    uncovered = [k for k, r in zip(zip(keys["item_id"], keys["location_id"]), records) if r is None]
    if by_key and uncovered:
        # Records of a key no row has, beside a row without records whose key reads the same
        # but for spaces, case, Unicode form or leading zeros ("FC1 ", "fc1", "001"): the row
        # was left on the inventory's lead_time_mean without a word (4 days planned where the
        # records said 21). Records of other keys (a network-wide table beside a new item's
        # row) are fine.
        rows = {_loose_key(k): k for k in uncovered}
        clashes = [(k, rows[_loose_key(k)]) for k in by_key if _loose_key(k) in rows]
        if clashes:
            shown = ", ".join(f"{k} for row {row}" for k, row in clashes[:5])
            more = f" and {len(clashes) - 5} more" if len(clashes) > 5 else ""
            raise ValueError(
                f"lead_times: records of {len(clashes)} key(s) match no row but are spelled like "
                f"rows without records: {shown}{more} (spaces, case, Unicode form or leading "
                "zeros differ); spell the keys as the inventory does"
            )
    return records


def _loose_text(value) -> str:
    """Text read loosely: Unicode NFKC, no surrounding spaces, case folded."""
    return unicodedata.normalize("NFKC", str(value)).strip().casefold()


def _loose_key(key: tuple) -> tuple[str, ...]:
    """A key read loosely: Unicode NFKC, no surrounding spaces, case folded, leading zeros of a
    number dropped (how a key spelled another way by another system still reads alike)."""

    def loose(value) -> str:
        text = _loose_text(value)
        return (text.lstrip("0") or "0") if text.isdigit() else text

    return tuple(loose(v) for v in key)


def _lead_time_moments(inv: dict, records: list) -> tuple[np.ndarray, np.ndarray]:
    mean = inv["lead_time_mean"].copy()
    std = np.nan_to_num(inv["lead_time_std"].copy(), nan=0.0)
    # Every key's records at once (a mean and std per key cost 15 us each).
    count = np.fromiter((0 if r is None else len(r) for r in records), np.int64, len(records))
    have = count > 0
    if have.any():
        values = np.concatenate([r for r in records if r is not None])
        n = count[have]
        starts = np.concatenate([[0], np.cumsum(n)[:-1]])
        mean[have] = np.add.reduceat(values, starts) / n
        squares = (values - np.repeat(mean[have], n)) ** 2
        spread = np.add.reduceat(squares, starts) / np.maximum(n - 1, 1)
        std[have] = np.where(n > 1, np.sqrt(spread), 0.0)
    missing = np.isnan(mean)
    if missing.any():
        _fail_rows(
            "lead_time_mean",
            "no lead time (give lead_time_mean or lead-time records)",
            missing,
            inv["labels"],
        )
    return mean, std


# --- forecasts --------------------------------------------------------------------------------


def _forecast_kind(forecast: pd.DataFrame) -> str:
    cols = set(forecast.columns)
    qcols = _quantile_columns(forecast)
    if "horizon" in cols and qcols:
        return "quantiles"
    if {"sample", "step", "demand"} <= cols:
        return "samples"
    if {"demand_mean", "demand_std"} <= cols:
        return "parametric"
    if "step" in cols and qcols:
        raise ValueError(
            "forecast: per-step quantiles cannot be added up to lead-time demand; give cumulative "
            "quantiles (a 'horizon' column: quantiles of demand over steps 1..horizon) or sample "
            "paths (sample, step, demand)"
        )
    raise ValueError(
        "forecast: unrecognised columns; expected cumulative quantiles (item_id, location_id, "
        "horizon, q0.05, ...), sample paths (item_id, location_id, sample, step, demand) or "
        "parametric demand (item_id, location_id, demand_mean, demand_std)"
    )


def forecast_step_days(forecast: pd.DataFrame) -> float | None:
    """The days of one step a forecast table states in its ``step_days`` column (as
    ``forecast predict --cumulative`` writes it: 7 for a weekly model), or ``None`` without one.

    A cumulative table has no dates: without the column, a weekly forecast's horizons were
    read as days whenever the lead times fitted in its horizon (seven times the lead-time
    demand, planned without a word)."""
    if "step_days" not in forecast.columns:
        return None
    raw = forecast["step_days"]
    numbers = _numbers(raw)
    values = np.unique(numbers)
    if len(values) != 1 or not (np.isfinite(values[0]) and values[0] > 0):
        # The values as sent: text or true/false read as NaN, and "got nan" named neither.
        sent = (f"{n:g}" if np.isfinite(n) else repr(r)
                for n, r in zip(numbers, raw.tolist(), strict=True))  # fmt: skip
        shown = ", ".join(list(dict.fromkeys(sent))[:5])
        raise ValueError(
            f"forecast: step_days: expected one number of days > 0 on every row, got {shown}"
        )
    return float(values[0])


def _align(forecast: pd.DataFrame, keys: pd.DataFrame, labels: list[str]) -> np.ndarray:
    """Row position of every inventory key among the forecast's keys; missing keys are an error."""
    fkeys = forecast[KEYS].drop_duplicates()
    index = pd.MultiIndex.from_frame(fkeys)
    pos = index.get_indexer(pd.MultiIndex.from_frame(keys))
    missing = pos < 0
    if missing.any():
        _fail_rows("forecast", "no forecast for the inventory row", missing, labels)
    return pos


def _key_codes(df: pd.DataFrame, keys: pd.DataFrame) -> np.ndarray:
    """For each row of df, the position of its key among ``keys`` (-1 if not there)."""
    return pd.MultiIndex.from_frame(keys).get_indexer(pd.MultiIndex.from_frame(df[KEYS]))


def _cumulative_array(forecast: pd.DataFrame, keys, labels):
    qcols = _quantile_columns(forecast)
    levels = np.array([lv for lv, _ in qcols])
    bad = (levels <= 0) | (levels >= 1)
    if bad.any():
        raise ValueError(f"forecast: quantile levels must be in (0, 1), got {levels.tolist()}")
    if len(qcols) < 2:
        # Checked here, naming the table and column: the kernels' own check said "levels: need
        # at least two quantile levels", which named neither (a forecast run trained with one
        # level, `--quantiles 0.5`, writes such a table).
        raise ValueError(
            f"forecast: one quantile column ({qcols[0][1]}): a plan reads demand between "
            "quantile levels and needs at least two (forecast with --quantiles 0.05,0.5,0.95, "
            "or give sample paths or demand_mean, demand_std)"
        )
    _check_unique(forecast, "forecast", KEYS + ["horizon"])
    _align(forecast, keys, labels)
    codes = _key_codes(forecast, keys)
    f = forecast.loc[codes >= 0]
    codes = codes[codes >= 0]
    horizon = _numbers(f["horizon"])
    bad = ~np.isfinite(horizon) | (horizon < 1) | (horizon != np.floor(horizon))
    if bad.any():
        _fail_rows("horizon", "must be a whole number >= 1", bad, _labels(f))
    h = horizon.astype(np.int64)
    n_h = int(h.max())
    counts = np.bincount(codes, minlength=len(keys))
    short = counts != n_h
    if short.any():
        _fail_rows("horizon", f"forecast must cover horizons 1..{n_h}", short, labels)
    cum = np.full((len(keys), n_h, len(qcols)), np.nan)
    vals = np.column_stack([_numbers(f[c]) for _, c in qcols])
    cum[codes, h - 1, :] = vals
    bad = ~np.isfinite(cum).all(axis=(1, 2))
    if bad.any():
        _fail_rows("forecast quantiles", "missing or non-numeric value", bad, labels)
    # Demand summed over h + 1 steps is never below the sum over h, at every level: a table that
    # falls with the horizon (a model without a non-negative-increment head, a hand-made one)
    # planned a longer lead time with a lower reorder point. Each level is rearranged (sorted)
    # over the horizons, as the levels are sorted within a row (kernels.quantiles); sorting the
    # rows afterwards keeps the horizons sorted, and a monotone table is left as it was.
    return np.sort(cum, axis=1), levels


def _snap(values: np.ndarray) -> np.ndarray:
    """Values within 1e-9 of a whole number as that number (14 days / 7 * 7 is 14)."""
    return np.where(np.abs(values - np.round(values)) < 1e-9, np.round(values), values)


def _cumulative_on_grid(cum: np.ndarray, k: float) -> np.ndarray:
    """Cumulative quantiles (n, H, Q) at every 1/k of a step (n, floor(H k), Q): at t steps
    between whole steps h and h + 1, (1 - f) q_h + f q_{h+1} with f = t - h (and q_0 = 0), the
    demand of the part-step spread evenly over it. ``k`` may be fractional (the 30.4375 days
    of a monthly step): the grid is then of whole days, the horizon's last part-day left out."""
    if k == 1:
        return cum
    n, n_h, n_q = cum.shape
    padded = np.concatenate([np.zeros((n, 1, n_q)), cum], axis=1)
    t = np.arange(1, int(np.floor(n_h * k + 1e-9)) + 1) / k
    lo = np.minimum(np.floor(t).astype(np.int64), n_h - 1)
    f = (t - lo)[None, :, None]
    return (1.0 - f) * padded[:, lo, :] + f * padded[:, lo + 1, :]


def _sample_paths_array(forecast: pd.DataFrame, keys, labels):
    _check_unique(forecast, "forecast", KEYS + ["sample", "step"])
    _align(forecast, keys, labels)
    codes = _key_codes(forecast, keys)
    f = forecast.loc[codes >= 0]
    codes = codes[codes >= 0]
    step = _numbers(f["step"])
    bad = ~np.isfinite(step) | (step < 1) | (step != np.floor(step))
    if bad.any():
        _fail_rows("step", "must be a whole number >= 1", bad, _labels(f))
    # A blank sample id is a sample of its own, as allocate() reads it: its default code (-1)
    # indexed the last path, so it overwrote another sample's path and the row was refused
    # as "demand: missing or non-numeric value" though every demand was given.
    sample_codes, _ = pd.factorize(f["sample"], sort=True, use_na_sentinel=False)
    n_steps = int(step.max())
    n_paths = int(sample_codes.max()) + 1
    counts = np.bincount(codes, minlength=len(keys))
    bad = counts != n_steps * n_paths
    if bad.any():
        _fail_rows(
            "forecast",
            f"sample paths must have the same {n_paths} samples x steps 1..{n_steps} for every key",
            bad,
            labels,
        )
    paths = np.full((len(keys), n_paths, n_steps), np.nan)
    demand = _numbers(f["demand"])
    paths[codes, sample_codes, step.astype(np.int64) - 1] = demand
    bad = ~np.isfinite(paths).all(axis=(1, 2))
    if bad.any():
        _fail_rows("demand", "missing or non-numeric value", bad, labels)
    bad = (paths < 0).any(axis=(1, 2))
    if bad.any():
        _fail_rows("demand", "negative demand", bad, labels)
    return paths


def _lot_sizes(inv: dict, step_mean: np.ndarray, policy: Policy) -> np.ndarray:
    # step_mean: mean demand per forecast step; the default lot is cycle_days of demand.
    lot = inv["lot_size"]
    q = np.where(np.isnan(lot), step_mean / policy.step_days * policy.default_cycle_days, lot)
    return round_lot_size(q, inv["case_pack"], inv["moq"])


def _key_rng(seed: int, item, location) -> np.random.Generator:
    """A row's own generator, from the seed and its key: a row's draws do not depend on which
    other rows the inventory holds or in what order."""
    digest = hashlib.blake2b(f"{item}\x1f{location}".encode(), digest_size=16).digest()
    return np.random.default_rng([seed, int.from_bytes(digest, "little")])


def _days_per_step(policy: Policy) -> float:
    """Days each forecast step is cut into on the planning grid of days (1 for daily steps or
    shorter): lead times and review periods are whole days on it."""
    return max(1.0, float(policy.step_days))


def _draw_lead_times(inv, records, mean, std, n_paths, max_days, policy):
    k = _days_per_step(policy)  # lead times are whole days
    draws = np.empty((len(records), n_paths))
    too_long = np.zeros(len(records), dtype=bool)
    keys = inv["match"]
    # The whole days the paths reach past the review period. A lead time read on whole days
    # (below) rounds up past them where the steps or the review are not whole days: a one-month
    # lead time of a one-month forecast (30.4375 days) is 30 or 31 days, and the 31-day draws
    # were cut to the paths' end without a word (the mean fell short by 0.8%), where the
    # quantile form refuses the row. The mass the whole-day reading puts beyond counts too.
    reach = np.floor(max_days * k + 1e-9).astype(np.int64)
    for i, r in enumerate(records):
        rng = _key_rng(policy.seed, keys["item_id"].iat[i], keys["location_id"].iat[i])
        if r is not None:
            draws[i] = rng.choice(r, size=n_paths, replace=True)
            too_long[i] = (r > max_days[i]).mean() > policy.horizon_tolerance
            pmf = leadtime.empirical_lead_time_pmf([_snap(np.asarray(r) * k)], int(reach[i]))
        elif std[i] > 0 and mean[i] > 0:
            shape = (mean[i] / std[i]) ** 2
            scale = std[i] ** 2 / mean[i]
            draws[i] = rng.gamma(shape, scale, size=n_paths)
            tail = stats.gamma.sf(max_days[i], shape, scale=scale)
            too_long[i] = tail > policy.horizon_tolerance
            pmf = leadtime.lead_time_pmf([mean[i] * k], [std[i] * k], int(reach[i]))
        else:
            draws[i] = mean[i]
            too_long[i] = mean[i] > max_days[i]
            pmf = leadtime.lead_time_pmf([_snap(mean[i] * k)], [0.0], int(reach[i]))
        too_long[i] |= 1.0 - pmf.sum() > policy.horizon_tolerance
        # Whole days, as the quantile form and the simulation read a lead time: summing a
        # pro-rata part of the last day kept the mean but not the spread (a fixed 2.5-day lead
        # time planned a 95% fill rate that simulated 94%).
        draws[i] = leadtime.whole_days(draws[i], rng, days_per_unit=k, tolerance=1e-12)
    if too_long.any():
        _fail_rows(
            "lead_time",
            "lead time + review period exceeds the forecast's sample paths",
            too_long,
            inv["labels"],
        )
    # The rare draws past the paths' end (within the tolerance above) end at the last step.
    return np.minimum(draws, max_days[:, None])


# --- plan ---------------------------------------------------------------------------------------


def _inspection_holds(inspected: pd.DataFrame, keys: pd.DataFrame, hold_review: bool) -> np.ndarray:
    """Units per inventory key that inspection took out of sellable stock.

    ``inspected``: per-SKU counts as ``stockcast inspect rejected`` writes them (``item_id``,
    optionally ``location_id``, ``rejected_units``, ``review_units``). Without ``location_id``
    a SKU must be stocked at one location only, or the counts could not be placed.
    """
    columns = ["rejected_units"] + (["review_units"] if hold_review else [])
    if "rejected_units" not in inspected.columns and "verdict" in inspected.columns:
        # One row per unit (whose item_id is the unit, not the SKU): counted, not read as counts.
        raise ValueError(
            "rejected: an items table of inspect score (a verdict per unit), not per-SKU counts: "
            "count it with vision.tables.rejected_units, or with a review database "
            "serving.review.inspection_holds (`stockcast plan --rejected` takes either)"
        )
    _require_columns(inspected, "rejected", ["item_id", *columns])
    table = _text_keyed(inspected.reset_index(drop=True))
    if "location_id" not in table.columns:
        per_item = keys.groupby("item_id", sort=False)["location_id"].nunique()
        shared = table["item_id"].map(per_item).fillna(0).to_numpy() > 1
        if shared.any():
            names = table.loc[shared, "item_id"].astype(str).head(5).tolist()
            raise ValueError(
                f"rejected: items {names} are stocked at several locations; the rejected table "
                "needs a location_id column"
            )
        table = table.merge(keys, on="item_id", how="left")
    _check_unique(table, "rejected", KEYS)
    rows = _labels(table)
    held = np.zeros(len(table))
    for column in columns:
        values = _numeric(table, column, rows)
        _nonnegative(column, values, rows)
        if (fraction := values != np.floor(values)).any():  # inspected units are counted whole
            _fail_rows(column, "not a whole number of units", fraction, rows)
        held += values
    pos = _key_codes(table, keys)
    # A key that holds no units takes nothing off any row: the counts of a whole inspection
    # batch (SKUs whose units all passed, the review queue's decided passes) still plan one FC.
    unknown = (pos < 0) & (held > 0)
    if unknown.any():
        _fail_rows("rejected", "no inventory row for the inspected item", unknown, rows)
    out = np.zeros(len(keys))
    out[pos[pos >= 0]] = held[pos >= 0]
    return out


def _plan_parametric(
    forecast: pd.DataFrame, inv: dict, policy: Policy
) -> tuple[dict, np.ndarray, np.ndarray]:
    """Levels from per-step demand moments (``demand_mean, demand_std``, one row per key).

    The protection interval's demand has mean ``d (L + R)`` and variance
    ``(L + R) sd^2 + d^2 sL^2``, fitted to ``policy.shape``; ``sL^2`` is the variance of the
    lead time read on whole days (:func:`kernels.leadtime.day_split_variance`). Returns the
    policy kernel's result, the (r, Q) lot sizes and the mean demand per step.
    """
    keys, labels, periodic = inv["match"], inv["labels"], inv["periodic"]
    _check_unique(forecast, "forecast", KEYS)
    pos = _align(forecast, keys, labels)
    f = forecast.drop_duplicates(KEYS).reset_index(drop=True).iloc[pos]
    d = _numeric(f, "demand_mean", labels)
    sd = _numeric(f, "demand_std", labels)
    _nonnegative("demand_mean", d, labels)
    _nonnegative("demand_std", sd, labels)
    # Lead times are read on whole days, as the quantile form and the simulation read them: a
    # 2.5-day lead time is 2 or 3 days, half the orders each, which adds E[f (1 - f)] to its
    # variance (f its part-day). Without it a fixed 2.5 days planned for no spread at all: a
    # 95% fill-rate plan simulated 94% where the same forecast as quantiles met 95%.
    k = _days_per_step(policy)  # steps are cut into days (as quantiles are)
    records = [None if r is None else r * k for r in inv["lt_records_steps"]]
    split = leadtime.day_split_variance(inv["lt_mean_steps"] * k, inv["lt_std_steps"] * k, records)
    lt_std = np.sqrt(inv["lt_std_steps"] ** 2 + split / k**2)
    # A lead time of mean 0 is 0 days whatever its std (a lead time is never negative), as the
    # quantile and sample-path forms and the simulation read it: its std added d^2 sL^2 to the
    # variance, 33 units of safety stock for no lead-time demand (0 +- 2 days, 10 a day).
    lt_std = np.where(inv["lt_mean_steps"] > 0, lt_std, 0.0)
    mom = leadtime.lead_time_demand_moments(
        d, sd, inv["lt_mean_steps"], lt_std, inv["review_steps"]
    )
    lot = _lot_sizes(inv, d, policy)
    res = _run_policy(
        labels,
        policy_parametric,
        np.where(periodic, mom["mean_p"], mom["mean_l"]),
        np.where(periodic, mom["std_p"], mom["std_l"]),
        mom["mean_l"],
        mom["std_l"],
        shift=np.where(periodic, 0.0, lot),
        service_level=inv["service_level"],
        service_type=inv["kernel_service_type"],
        shape=policy.shape,
    )
    return res, lot, d


def _plan_cumulative_quantiles(
    forecast: pd.DataFrame, inv: dict, policy: Policy
) -> tuple[dict, np.ndarray, np.ndarray]:
    """Levels from quantiles of cumulative demand (``horizon, q...``, horizons 1..H per key).

    A random lead time mixes the horizons' distributions with the lead-time probabilities
    (observed records, else a discretized gamma with the inventory's mean/std); quantiles are
    never added. Steps of ``policy.step_days`` > 1 days are cut in days (7 of a weekly forecast,
    30.4375 of a monthly one), the quantiles interpolated between whole steps, and a review
    period between two whole days split between them.
    """
    keys, labels, periodic = inv["match"], inv["labels"], inv["periodic"]
    cum, levels = _cumulative_array(forecast, keys, labels)
    n_h = cum.shape[1]
    # Steps longer than a day are planned on a grid of days, k = step_days per step: a lead
    # time between two steps is the demand up to it, interpolated between the steps'
    # quantiles, not a draw of one step or the other (a 10-day lead time of a weekly forecast
    # mixed 1 and 2 weeks of demand: three times the safety stock). Whole days, not
    # ceil(step_days) parts: a monthly step's 31 parts of 0.98 days refused every review
    # period given in days (7, 14, 30, 31).
    k = _days_per_step(policy)
    review = _snap(inv["review_steps"] * k)
    records = [None if r is None else _snap(r * k) for r in inv["lt_records_steps"]]
    grid = _cumulative_on_grid(cum, k)
    n_g = grid.shape[1]
    pmf = np.zeros((len(keys), n_g + 1))
    have = np.array([r is not None for r in records])
    if have.any():
        pmf[have] = leadtime.empirical_lead_time_pmf([r for r in records if r is not None], n_g)
    if (~have).any():
        pmf[~have] = leadtime.lead_time_pmf(
            _snap(inv["lt_mean_steps"][~have] * k), inv["lt_std_steps"][~have] * k, n_g
        )
    part = np.where(periodic, review - np.floor(review), 0.0)
    bad = (part > 0) & (k == 1)
    if bad.any():
        _fail_rows("review_period", "must be whole forecast steps", bad, labels)
    try:
        w_a, w_b = leadtime.horizon_weights(
            pmf, review - part, n_g, tolerance=policy.horizon_tolerance
        )
        if part.any():
            # A review period between two whole days (a month of 30.4375) is split between
            # them as a lead time is: the protection interval keeps its mean.
            w_up, _ = leadtime.horizon_weights(
                pmf, review - part + (part > 0), n_g, tolerance=policy.horizon_tolerance
            )
            w_a = (1.0 - part[:, None]) * w_a + part[:, None] * w_up
    except ValueError as exc:
        message = _relabel(str(exc), labels).replace(f"({n_g} steps)", f"({n_h} steps)")
        raise ValueError(message) from None
    daily = mean_from_quantiles(cum[:, -1, :], levels) / n_h
    lot = _lot_sizes(inv, daily, policy)
    # A count forecast's table (every knot a whole number) is planned to whole units. Read
    # between two steps (10 days of a weekly table) its knots are not whole, and such rows were
    # left fractional where the same demand as a daily table was not: Poisson 0.5 a day, 10
    # days, 90% cycle service planned r = 7.71 from weeks (met 86.7%: stock moves in whole
    # units) and r = 8 from days (93.2%). The table's own knots say whether it counts, read as
    # the kernel reads them, clipped at zero first: a lowest knot of -0.3 (a count model's
    # 5% quantile) is 0, whole, and left the weekly row at 7.71 where the daily one planned 8.
    clipped = np.maximum(cum, 0.0)
    counted = (clipped == np.floor(clipped)).all(axis=(1, 2)) if k > 1 else None
    res = _run_policy(
        labels,
        policy_from_quantiles,
        grid,
        levels,
        w_a,
        w_b,
        shift=np.where(periodic, 0.0, lot),
        service_level=inv["service_level"],
        service_type=inv["kernel_service_type"],
        counted=counted,
    )
    return res, lot, daily


def _plan_sample_paths(
    forecast: pd.DataFrame, inv: dict, policy: Policy
) -> tuple[dict, np.ndarray, np.ndarray]:
    """Levels from demand sample paths (``sample, step, demand``; the same paths x steps per key).

    Each path draws its own lead time (bootstrapped from the lead-time records, else gamma with
    the inventory's mean/std, seeded by ``policy.seed``) and contributes the sum of its first
    L (+ R) steps.
    """
    keys, labels, periodic = inv["match"], inv["labels"], inv["periodic"]
    review = inv["review_steps"]
    paths = _sample_paths_array(forecast, keys, labels)
    n_paths, n_steps = paths.shape[1], paths.shape[2]
    max_days = n_steps - review
    bad = max_days < 0
    if bad.any():
        _fail_rows("review_period", "longer than the forecast's sample paths", bad, labels)
    draws = _draw_lead_times(
        inv,
        inv["lt_records_steps"],
        inv["lt_mean_steps"],
        inv["lt_std_steps"],
        n_paths,
        max_days,
        policy,
    )
    a, b = leadtime.lead_time_demand_samples(paths, draws, review)
    rate = paths.mean(axis=(1, 2))
    lot = _lot_sizes(inv, rate, policy)
    # Whole-count paths are planned to whole units; summed over part of a step (10 days of a
    # weekly path) their sums are not whole, and such rows were left fractional: Poisson 0.5 a
    # day, 10 days, 90% planned 7.71 from weekly paths (met 86.7%), 8 from daily ones.
    counted = (paths == np.floor(paths)).all(axis=(1, 2)) if policy.step_days > 1 else None
    res = _run_policy(
        labels,
        policy_from_samples,
        a,
        b,
        shift=np.where(periodic, 0.0, lot),
        service_level=inv["service_level"],
        service_type=inv["kernel_service_type"],
        counted=counted,
    )
    return res, lot, rate


# The forecast forms plan() accepts, by the name _forecast_kind gives them.
_FORMS = {
    "parametric": _plan_parametric,
    "quantiles": _plan_cumulative_quantiles,
    "samples": _plan_sample_paths,
}


def plan(
    forecast: pd.DataFrame,
    inventory: pd.DataFrame,
    policy: Policy | None = None,
    *,
    lead_times: pd.DataFrame | None = None,
    rejected: pd.DataFrame | None = None,
    hold_review: bool = False,
) -> pd.DataFrame:
    """Safety stock, reorder point, order-up-to level and order quantity per (item, location).

    ``forecast``: one of the three forms in the module docstring (parametric moments,
    cumulative quantiles or sample paths, recognised by their columns); ``inventory``: one row
    per key (see the module docstring); ``policy``: the :class:`~kernels.config.Policy` for what
    the inventory does not set (default ``Policy()``); ``lead_times``: optional supplier
    lead-time records (``item_id, location_id, order_date, lead_time_days``), which replace the
    inventory's lead-time mean/std for the keys they cover; records of keys no row has are
    ignored, except those spelled like a row that has no records (``FC1 ``, ``fc1``, ``001``
    for ``FC1`` / ``1``), which are an error.

    Rows with ``review_period`` 0 use continuous review with the (r, Q) rule: at or below the
    reorder point r, order the smallest multiple of the lot size Q that lifts the position above
    r (Q is rounded up to whole case packs and to at least the MOQ, so every order is too); their
    ``order_up_to`` is r + Q, the highest position right after an order, not a level each order
    fills up to. Rows with R > 0 use periodic review (order-up-to S; its reorder point is S:
    every review that finds the position below S orders up to S, at least the MOQ, rounded up to
    whole case packs).

    ``rejected``: optional inspection counts (what ``stockcast inspect rejected`` writes): the
    rejected units, and with ``hold_review`` also the units waiting for a person, leave the
    sellable ``on_hand`` before the position is computed; more than ``on_hand`` is an error, and
    so are units of a key no inventory row has (a key holding none is left alone). An items
    table of ``inspect score`` (a ``verdict`` per unit) is refused: count it first with
    ``vision.tables.rejected_units``, or, where a review database holds some of its units, with
    ``serving.review.inspection_holds`` (each unit once; pass ``hold_review=True`` then).

    Returns one row per inventory key, in inventory order: ``item_id, location_id, review,
    service_type, service_level, lead_time_mean, lead_time_std, demand_mean`` (expected demand over
    the protection interval), ``safety_stock, reorder_point, order_up_to, lot_size,
    inventory_position, order_qty, expected_fill_rate, cycle_service_level`` (achieved), and
    ``inspection_held`` (units taken off ``on_hand``) when ``rejected`` is given. A periodic row
    whose forecast has no demand over the review period (but some over the lead time) has no
    fill rate: a ``fill_rate`` row is then an error naming its key, a ``cycle`` row reports
    ``expected_fill_rate`` NaN; a row with no demand at all plans to 0 with fill rate 1. An
    inventory without rows gives a plan with these columns and no rows (the forecast's form is
    still checked). Errors are ``ValueError`` naming the table or column and the keys.

    >>> import pandas as pd
    >>> forecast = pd.DataFrame({"item_id": ["sku1", "sku2"], "location_id": "FC1",
    ...                          "demand_mean": [10.0, 4.0], "demand_std": [3.0, 2.0]})
    >>> inventory = forecast[["item_id", "location_id"]].assign(
    ...     on_hand=[20.0, 60.0], lead_time_mean=4.0, review_period=[0.0, 7.0])
    >>> p = plan(forecast, inventory, Policy(service_level=0.95))
    >>> p[["item_id", "review", "safety_stock", "reorder_point", "order_qty"]].round(1)
      item_id      review  safety_stock  reorder_point  order_qty
    0    sku1  continuous           9.9           49.9       70.0
    1    sku2    periodic          10.9           54.9        0.0
    """
    policy = Policy() if policy is None else policy
    if not isinstance(policy, Policy):
        raise ValueError(f"policy: expected a kernels.Policy, got {type(policy).__name__}")
    if not isinstance(forecast, pd.DataFrame) or not isinstance(inventory, pd.DataFrame):
        raise ValueError("plan: forecast and inventory must be pandas DataFrames")
    kind = _forecast_kind(forecast)
    _require_columns(forecast, "forecast", KEYS)
    stated = forecast_step_days(forecast)
    if stated is not None and abs(stated - policy.step_days) > 1e-9 * stated:
        raise ValueError(
            f"forecast: its steps are {stated:g} days (its step_days column), and the policy's "
            f"step_days is {policy.step_days:g}: lead times and review periods in days would "
            f"be read as steps of {policy.step_days:g} days; plan with step_days {stated:g}"
        )
    forecast = _text_keyed(forecast)
    inv = _prepare_inventory(inventory, policy)
    keys, labels = inv["keys"], inv["labels"]
    held = None
    if rejected is not None:
        held = _inspection_holds(rejected, inv["match"], hold_review)
        short = held > inv["on_hand"]
        if short.any():
            # The counts of the first such key beside its name: which table is wrong (the
            # inspection's counts or the inventory's on_hand) is the user's call.
            first = np.flatnonzero(short)[0]
            what = "rejected_units + review_units" if hold_review else "rejected_units"
            _fail_rows(
                what,
                "more units held by inspection than the inventory's on_hand (the first: "
                f"{held[first]:g} held, {inv['on_hand'][first]:g} on hand)",
                short,
                labels,
            )
    inv["lt_records"] = _lead_time_records(lead_times, inv["match"])
    inv["lt_mean"], inv["lt_std"] = _lead_time_moments(inv, inv["lt_records"])
    inv["periodic"] = periodic = inv["review_period"] > 0
    # Lead times and review periods are in days, the forecast in steps of policy.step_days.
    step = policy.step_days
    inv["lt_mean_steps"], inv["lt_std_steps"] = inv["lt_mean"] / step, inv["lt_std"] / step
    inv["lt_records_steps"] = [None if r is None else r / step for r in inv["lt_records"]]
    review = inv["review_period"] / step
    whole = np.abs(review - np.round(review)) < 1e-9  # 14 days of a weekly forecast: 2 steps
    inv["review_steps"] = np.where(whole, np.round(review), review)
    if len(keys):
        res, lot, rate = _FORMS[kind](forecast, inv, policy)
    else:  # nothing to plan: the plan's columns without rows
        res = {k: np.empty(0) for k in ("level", "mean", "cycle_service", "fill_rate")}
        lot = rate = np.empty(0)

    level = res["level"]
    # (r, Q) rows: the highest position right after an order (it lands in (r, r + Q]).
    order_up_to = np.where(periodic, level, level + lot)
    on_hand = inv["on_hand"] if held is None else inv["on_hand"] - held
    position = on_hand + inv["on_order"] - inv["backorders"]
    qty = order_quantities(
        position,
        rule=np.where(periodic, "RS", "rQ"),
        reorder_point=level,
        order_up_to=order_up_to,
        lot_size=lot,
        case_pack=inv["case_pack"],
        moq=inv["moq"],
    )
    # A continuous-review row with no demand at all (reorder point 0) whose position is not
    # short needs nothing: the (r, Q) trigger "at or below r" would order a case pack or the
    # MOQ for it at every plan, for a position that never falls. "No demand at all" is the
    # forecast's, not the lead time's: with a zero lead time (or none forecast within it) the
    # position does fall, and the order due at r = 0 is what serves the next demand.
    idle = ~periodic & (rate == 0) & (level == 0) & (position >= 0)
    qty = np.where(idle, 0.0, qty)
    out = keys.reset_index(drop=True).copy()
    out["review"] = np.where(periodic, "periodic", "continuous")
    out["service_type"] = inv["service_type"]
    out["service_level"] = inv["service_level"]
    out["lead_time_mean"] = inv["lt_mean"]
    out["lead_time_std"] = inv["lt_std"]
    out["demand_mean"] = res["mean"]
    out["safety_stock"] = level - res["mean"]
    out["reorder_point"] = level
    out["order_up_to"] = order_up_to
    out["lot_size"] = np.where(periodic, np.nan, lot)
    out["inventory_position"] = position
    out["order_qty"] = qty
    out["expected_fill_rate"] = res["fill_rate"]
    out["cycle_service_level"] = res["cycle_service"]
    if held is not None:
        out["inspection_held"] = held
    return out


def _run_policy(labels: list[str], fn, *args, **kwargs) -> dict:
    """A policy kernel call whose "no demand per cycle" error names keys in the plan's terms."""
    try:
        return fn(*args, **kwargs)
    except NoCycleDemandError as exc:
        _fail_rows(
            "service_type",
            "fill_rate rows need demand over the review period, and the forecast has none there "
            "(the fill rate is undefined)",
            exc.rows,
            labels,
        )
        raise  # unreachable: _fail_rows raises


def _relabel(message: str, labels: list[str]) -> str:
    # Kernel errors name positional rows; the table API names keys instead.
    import re

    def keys_of(m):
        rows = [int(r) for r in re.findall(r"\d+", m.group(2))]
        return m.group(1).replace("rows", "keys").replace("row", "key") + ", ".join(
            labels[r] for r in rows
        )

    return re.sub(r"(rows? )(\d+(?:, \d+)*)", keys_of, message)


def abc_segments(revenue, cuts: tuple[float, float] = (0.8, 0.95)) -> np.ndarray:
    """ABC class per row by cumulative share of revenue (A: the top ``cuts[0]``, B: up to
    ``cuts[1]``, C: the rest), for ``Policy.segment_service_levels``."""
    rev = np.asarray(revenue, dtype=np.float64)
    if rev.ndim != 1 or not np.isfinite(rev).all() or (rev < 0).any():
        raise ValueError("revenue: expected a 1-d array of finite values >= 0")
    if not 0 < cuts[0] < cuts[1] <= 1:
        raise ValueError(f"cuts: expected 0 < A < B <= 1, got {cuts}")
    total = rev.sum()
    # Share of revenue of the rows ranked above each row: a row is A while that share is < cut A.
    # Rows of equal revenue rank level, so they share a class: counting the ones listed first
    # as above the others gave two SKUs of the same revenue A and B by their order in the table.
    desc = -np.sort(-rev)
    above = np.concatenate([[0.0], np.cumsum(desc)])[np.searchsorted(-desc, -rev, side="left")]
    before = above / (total if total > 0 else 1.0)
    # A share on a cut in exact arithmetic lands an ulp either side of it in floating point,
    # depending on the unit of the revenue: 2.8 of 3.5 is 0.7999999999999999, so revenue
    # [4, 1] was classed A, B and the same SKUs at a price of 0.7 A, A. Shares within 1e-9 of
    # a cut are on it (not below), so the classes do not depend on the currency or scale.
    a_cut, b_cut = cuts[0] * (1 - 1e-9), cuts[1] * (1 - 1e-9)
    return np.where(before < a_cut, "A", np.where(before < b_cut, "B", "C")).astype(object)


# --- allocation ---------------------------------------------------------------------------------


def allocation_groups(width: np.ndarray) -> np.ndarray:
    """The group :func:`allocate` runs each item in, from its number of FCs ``width``: items
    whose counts are within a factor of two of each other, each group's kernel arrays padded
    to its own most FCs (so to fewer than twice the stock rows)."""
    return np.ceil(np.log2(np.maximum(np.asarray(width), 1))).astype(np.int64)


def allocate(
    demand: pd.DataFrame,
    stock: pd.DataFrame,
    supply: pd.DataFrame,
    *,
    objective: str = "sales",
) -> pd.DataFrame:
    """Split each item's scarce supply across locations (see :mod:`kernels.allocation`).

    ``demand``: ``item_id, location_id, sample, demand`` -- samples of demand over the period the
    allocation must cover (with a ``step`` column, each sample's steps are summed first); the same
    number of samples for every key. ``stock``: ``item_id, location_id, on_hand`` and optionally
    ``cap`` (most units the location may receive) and ``margin`` (per unit sold, used with
    ``objective="margin"``), and ``on_order`` and ``backorders`` (default 0) as :func:`plan`
    reads them: a location starts the period at its inventory position
    ``on_hand + on_order - backorders`` (every open order counts as arriving within the period),
    which may be negative. Backorders are demand already owed, so the units that fill them are
    the first sent and are worth a whole unit each: unit ``y + 1`` at a location is worth
    P(D > position + y). ``supply``: ``item_id, supply`` and optionally ``reserve`` (units held
    back at the DC) and ``reserve_value`` (the DC keeps units no location values above it).

    Returns one row per stock row: ``item_id, location_id, allocation, expected_sales`` and
    ``expected_margin`` (``expected_sales`` x margin) with the margin objective.
    ``expected_sales`` is the units the location is expected to ship in the period, backorders
    filled included: E[min(D + backorders, on_hand + on_order + allocation)] (with neither
    column, E[min(D, on_hand + allocation)]). Units not allocated (supply minus the item's
    allocations) stay at the DC. Units tied exactly (equal marginal values, as integer demand
    samples often give) are spread evenly, the last ones to an item's locations in the order of
    their ``location_id`` text, whatever the order of the stock table's rows.
    """
    if objective not in ("sales", "margin"):
        raise ValueError(f"objective: must be 'sales' or 'margin', got {objective!r}")
    # As plan()'s inventory: an optional column spelled otherwise but for spaces or case was left
    # unread, so a "Reserve" went out to the FCs and a "Cap" let them take every unit.
    _check_column_names(demand, "demand", (*KEYS, "sample", "step", "demand"))
    _check_column_names(
        stock, "stock", (*KEYS, "on_hand", "on_order", "backorders", "cap", "margin")
    )
    _check_column_names(supply, "supply", ("item_id", "supply", "reserve", "reserve_value"))
    _require_columns(demand, "demand", KEYS + ["sample", "demand"])
    _require_columns(stock, "stock", KEYS + ["on_hand"])
    _require_columns(supply, "supply", ["item_id", "supply"])
    # Keys matched as text, as plan() matches them: a forecast's item "7" is the ERP's 7.
    _check_unique(_text_keyed(stock), "stock", KEYS)
    _check_unique(_text_keyed(supply), "supply", ["item_id"])
    st = stock.reset_index(drop=True)
    match = _text_keyed(st[KEYS])
    labels = _labels(st)
    # A row without an item has no supply to draw from; its factorize code (-1) indexed the
    # last item, whose first location then took that row's stock and demand.
    blank = st[KEYS].isna().any(axis=1).to_numpy()
    if blank.any():
        _fail_rows("stock", "missing item_id or location_id", blank, labels)
    on_hand = _numeric(st, "on_hand", labels)
    _nonnegative("on_hand", on_hand, labels)
    # The position plan() reads: on_order and backorders were unread here, so an FC owing 10
    # backorders and one with 10 units inbound split a scarce 10 units 5/5 (the owing FC needs
    # all 10). A negative position is the kernels' stock as it is: unit y + 1 is worth
    # P(D > position + y), 1 for each unit that fills a backorder.
    on_order = _numeric(st, "on_order", labels, default=0.0)
    _nonnegative("on_order", on_order, labels)
    backorders = _numeric(st, "backorders", labels, default=0.0)
    _nonnegative("backorders", backorders, labels)
    with np.errstate(over="ignore", invalid="ignore"):
        position = on_hand + on_order - backorders
    bad = ~np.isfinite(position)
    if bad.any():
        _fail_rows("stock", "on_hand + on_order - backorders is not finite", bad, labels)
    cap = _numeric(st, "cap", labels, default=np.inf)
    _nonnegative("cap", cap, labels)
    # Checked here, not only in the kernels: they see each group of items as its own array, so
    # their errors named a position in that group ("caps: ... at row 2" for the sixth stock row).
    _whole_units("cap", cap, labels)
    if objective == "margin":
        if "margin" not in st.columns:
            raise ValueError("stock: objective 'margin' needs a margin column")
        value = _numeric(st, "margin", labels)
        _nonnegative("margin", value, labels)
    else:
        value = np.ones(len(st))

    d = _text_keyed(demand)
    if "step" in d.columns:
        # Each step is checked before the sum: pandas' sum skips a missing step (it counted as
        # 0), a negative step cancelled another's demand, and text steps were concatenated.
        step_vals = _numbers(d["demand"])
        bad = ~np.isfinite(step_vals) | (step_vals < 0)
        if bad.any():
            keys = d.loc[bad, KEYS].drop_duplicates()
            _fail_rows(
                "demand",
                "missing, non-numeric or negative demand",
                np.ones(len(keys), dtype=bool),
                _labels(keys),
            )
        # A repeated step was added twice and a missing one not at all: every sample of a
        # stock key needs the same steps, once each.
        _check_unique(d, "demand", KEYS + ["sample", "step"])
        d = d.assign(demand=step_vals)
        n_steps = d.loc[_key_codes(d, match) >= 0, "step"].nunique()
        # dropna=False: a sample whose id is blank is still a sample, as it is without a step
        # column (groupby dropped its rows, and the allocation was made without it, silently).
        d = d.groupby(KEYS + ["sample"], sort=False, as_index=False, dropna=False).agg(
            demand=("demand", "sum"), steps=("step", "size")
        )
        short = (_key_codes(d, match) >= 0) & (d["steps"].to_numpy() != n_steps)
        if short.any():
            keys = d.loc[short, KEYS].drop_duplicates()
            _fail_rows(
                "demand",
                f"every sample needs the same {n_steps} steps",
                np.ones(len(keys), dtype=bool),
                _labels(keys),
            )
    _check_unique(d, "demand", KEYS + ["sample"])
    codes = _key_codes(d, match)
    present = np.zeros(len(st), dtype=bool)
    present[codes[codes >= 0]] = True
    if not present.all():
        _fail_rows("demand", "no demand samples for the stock row", ~present, labels)
    d = d.loc[codes >= 0]
    codes = codes[codes >= 0]
    counts = np.bincount(codes, minlength=len(st))
    n_samples = int(counts.max()) if len(counts) else 0
    bad = counts != n_samples
    if bad.any():
        _fail_rows("demand", f"expected {n_samples} samples per key", bad, labels)
    sample_rank = d.groupby(codes).cumcount().to_numpy()
    vals = _numbers(d["demand"])
    samples_flat = np.full((len(st), max(n_samples, 1)), np.nan)
    samples_flat[codes, sample_rank] = vals
    bad = ~np.isfinite(samples_flat).all(axis=1) | (samples_flat < 0).any(axis=1)
    if bad.any():
        _fail_rows("demand", "missing, non-numeric or negative demand", bad, labels)

    sup = _text_keyed(supply.reset_index(drop=True))
    sup_labels = [str(i) for i in sup["item_id"]]
    s_units = _numbers(sup["supply"])
    from .validate import fail

    bad = ~np.isfinite(s_units) | (s_units < 0) | (s_units != np.floor(s_units))
    bad |= s_units >= 2.0**63  # the kernels count units in int64
    if bad.any():
        fail("supply", "must be a whole number of units >= 0 (below 2**63)", bad, sup_labels)
    # A blank reserve (or reserve value) is none; text that is not a number is an error (it
    # read as 0, and the DC's reserve went out to the FCs).
    reserve = np.zeros(len(sup))
    if "reserve" in sup.columns:
        reserve = _blank_as_zero(_numeric(sup, "reserve", sup_labels, allow_missing=True))
    rvalue = np.zeros(len(sup))
    if "reserve_value" in sup.columns:
        rvalue = _blank_as_zero(_numeric(sup, "reserve_value", sup_labels, allow_missing=True))
    # Named by item here: the kernels' errors named a position in a group of items (every item's
    # bad reserve was "at row 0").
    for field, vals in (("reserve", reserve), ("reserve_value", rvalue)):
        bad = ~np.isfinite(vals)
        if bad.any():
            fail(field, "missing or non-finite value", bad, sup_labels)
        _nonnegative(field, vals, sup_labels)
    _whole_units("reserve", reserve, sup_labels)

    item_codes, items = pd.factorize(match["item_id"], sort=False)
    sup_pos = pd.Index(sup["item_id"]).get_indexer(items)
    missing = sup_pos < 0
    if missing.any():
        raise ValueError(
            "supply: no supply row for item(s) "
            + ", ".join(str(i) for i in np.asarray(items)[missing][:5])
        )
    n_items = len(items)
    # Each item's FCs in the order of their location text, not of the stock table's rows: the
    # kernel spreads an exact tie's last units lower FC index first, and integer demand samples
    # tie often, so a shuffled stock table moved units between FCs (4/11 became 3/12).
    slot = (
        match["location_id"].groupby(item_codes).rank(method="first").to_numpy(dtype=np.int64) - 1
    )
    s_tot = s_units[sup_pos]
    # The kernels take an (items x FCs x samples) array: items are allocated in groups whose FC
    # counts are within a factor of two of each other, each padded to its own group's most. One
    # array padded every item to the most FCs any item has: an item stocked at 1,000 FCs beside
    # items at 2 took memory and time for 1,000 FCs per item (gigabytes for a few thousand rows).
    # An item's allocation does not depend on its padding (padded FCs take cap 0).
    width = np.bincount(item_codes, minlength=n_items)
    group = allocation_groups(width)
    allocation = np.zeros(len(st), dtype=np.int64)
    sales = np.zeros(len(st))
    for g in np.unique(group):
        members = np.flatnonzero(group == g)
        local = np.full(n_items, -1)
        local[members] = np.arange(len(members))
        rows = np.flatnonzero(group[item_codes] == g)
        k, j = local[item_codes[rows]], slot[rows]
        shape = (len(members), int(width[members].max()))
        samples = np.zeros((*shape, max(n_samples, 1)))
        stock_arr = np.zeros(shape)
        cap_arr = np.zeros(shape)
        value_arr = np.zeros(shape)
        samples[k, j] = samples_flat[rows]
        stock_arr[k, j] = position[rows]
        cap_arr[k, j] = np.minimum(cap[rows], s_tot[item_codes[rows]])
        value_arr[k, j] = value[rows]
        res = allocate_samples(
            samples,
            stock_arr,
            s_tot[members],
            caps=cap_arr,
            value=value_arr,
            reserve=reserve[sup_pos[members]],
            reserve_value=rvalue[sup_pos[members]],
        )
        allocation[rows] = res["allocation"][k, j]
        # The kernels' E[min(D, position + x)] plus the backorders is
        # E[min(D + backorders, on_hand + on_order + x)]: the units shipped, backorders filled
        # included (never negative; the kernels' value is negative while backorders stay unfilled).
        sales[rows] = res["expected_sales"][k, j] + backorders[rows]
    out = st[KEYS].copy()
    out["allocation"] = allocation
    out["expected_sales"] = sales
    if objective == "margin":
        out["expected_margin"] = out["expected_sales"] * value
    return out


# --- two-echelon positioning -------------------------------------------------------------------


#: The columns :func:`position` reads from its FC and DC tables; any other is left unread.
POSITION_FC_COLUMNS = (
    *KEYS, "demand_mean", "demand_std", "lead_time", "service_level", "holding_cost",
    "service_time",
)  # fmt: skip
POSITION_DC_COLUMNS = ("item_id", "lead_time", "service_level", "holding_cost", "inbound_service")


def position(fc: pd.DataFrame, dc: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Guaranteed-service safety stock for one DC and its FCs (see :mod:`kernels.echelon`).

    ``fc``: ``item_id, location_id, demand_mean, demand_std, lead_time`` (DC to FC),
    ``service_level``, ``holding_cost`` and optionally ``service_time`` (the longest time promised
    to customers; default 0). ``dc``: ``item_id, lead_time, service_level, holding_cost`` and
    optionally ``inbound_service``. Returns ``(dc_plan, fc_plan)``: per item the DC's outbound
    service time S, safety stock, base stock and cost; per FC its net replenishment time
    ``max(S + lead_time - service_time, 0)``, safety stock and base stock. Errors name the
    ``(item_id, location_id)`` key of a bad FC row and the ``item_id`` of a bad DC row.
    """
    # As plan()'s inventory: an optional column spelled otherwise but for spaces or case was left
    # unread, so an FC's "Service Time" of 6 days planned as a promise of 0 (and a DC's
    # "inbound_service " as a supplier guarantee of 0): safety stock in the wrong places.
    _check_column_names(fc, "fc", POSITION_FC_COLUMNS)
    _check_column_names(dc, "dc", POSITION_DC_COLUMNS)
    _require_columns(
        fc,
        "fc",
        KEYS + ["demand_mean", "demand_std", "lead_time", "service_level", "holding_cost"],
    )
    _require_columns(dc, "dc", ["item_id", "lead_time", "service_level", "holding_cost"])
    # Items matched as text, as plan() matches them: a forecast's item "7" is the ERP's 7.
    _check_unique(_text_keyed(fc), "fc", KEYS)
    _check_unique(_text_keyed(dc), "dc", ["item_id"])
    f = fc.reset_index(drop=True)
    labels = _labels(f)
    d = dc.reset_index(drop=True)
    dc_labels = [str(i) for i in d["item_id"]]
    # A blank key is no item or location (as in allocate() and plan()): an FC row without an
    # item matched the DC table's blank row and was planned with it, and one without a
    # location was planned and written as a location "".
    blank = f[KEYS].isna().any(axis=1).to_numpy()
    if blank.any():
        _fail_rows("fc", "missing item_id or location_id", blank, labels)
    blank = d["item_id"].isna().to_numpy()
    if blank.any():
        raise ValueError(f"dc: missing item_id at {describe_rows(blank)}")
    code = pd.Index(key_text(d["item_id"])).get_indexer(key_text(f["item_id"]))
    if (code < 0).any():
        _fail_rows("item_id", "no DC row for FC item", code < 0, labels)

    def columns(table, names, table_labels, prefix, defaults):
        out = {}
        for name in names:
            field = f"{prefix} {name}"
            vals = _numeric(table, name, table_labels, default=defaults.get(name), field=field)
            if name == "service_level":
                check_service_level(field, vals, table_labels)
            else:
                _nonnegative(field, vals, table_labels)
            out[name] = vals
        return out

    # Checked here, not in the kernel, so that errors name keys and items rather than positions.
    fcv = columns(
        f,
        ["demand_mean", "demand_std", "lead_time", "service_level", "holding_cost", "service_time"],
        labels,
        "fc",
        {"service_time": 0.0},
    )
    dcv = columns(
        d,
        ["lead_time", "service_level", "holding_cost", "inbound_service"],
        dc_labels,
        "dc",
        {"inbound_service": 0.0},
    )
    res = two_echelon_safety_stock(
        code.astype(np.int64),
        fcv["demand_mean"],
        fcv["demand_std"],
        fcv["lead_time"],
        fcv["service_level"],
        fcv["holding_cost"],
        dcv["lead_time"],
        dcv["service_level"],
        dcv["holding_cost"],
        dc_inbound_service=dcv["inbound_service"],
        fc_service_time=fcv["service_time"],
    )
    dc_plan = d[["item_id"]].copy()
    for k in ("dc_service_time", "dc_safety_stock", "dc_base_stock", "cost"):
        dc_plan[k] = res[k]
    fc_plan = f[KEYS].copy()
    fc_plan["net_replenishment_time"] = res["fc_net_time"]
    fc_plan["safety_stock"] = res["fc_safety_stock"]
    fc_plan["base_stock"] = res["fc_base_stock"]
    return dc_plan, fc_plan

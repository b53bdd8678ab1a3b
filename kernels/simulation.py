"""Replay a plan day by day against realized demand, and against a weeks-of-supply rule.

:func:`simulate` runs a discrete-time inventory simulation (the Numba kernel in
:mod:`kernels._simulate`, batched over (item, location) rows with ``prange``) of a plan's order
rules over the days of a demand table -- e.g. the real held-back weeks of a data set -- and
reports service, inventory and ordering per key and overall. :func:`compare` runs the plan and
the spreadsheet rule "order up to W weeks of average demand every week" with W chosen per key so
that both hold **the same average inventory**, on the same demand and lead-time draws;
:func:`plot` draws their inventory and stockouts over time for a few keys.

**Days.** Each day: receive the orders due, serve demand from on hand, then review (every day
for continuous review, every R days from day 0 for periodic review) and order by the rule from
the inventory position (on hand + on order - backorders). An order placed at the end of day t
with a lead time of L whole days is on the shelf the morning of day t + L + 1, so what the
position covers before it arrives is the demand of L days, the lead-time demand the plan
protects. Demand not served from stock is **lost** by default (a retail FC: the customer buys
elsewhere); ``lost_sales=False`` backorders it instead (net stock goes negative, receipts fill
backorders first), the assumption of the plan's fill-rate and cycle-service formulas.

A continuous-review row is therefore reviewed once a day: an (R = 1 day, r, Q) system, whose
protection interval is L + 1 days, whereas :func:`kernels.plan`'s continuous-review formulas
assume R = 0. Where a day of demand is large next to the safety stock the simulated fill rate
falls short of the plan's ``expected_fill_rate`` (daily demand 10 +- 3.2, L = 3, Q = 72, a 95 %
fill-rate plan: about 88 % with backorders); periodic rows match their formulas.

**Order rules** (those of :func:`kernels.policies.order_quantities`, case packs and MOQ
included): ``continuous`` rows (r, Q) -- at or below r, order the smallest multiple of Q that
lifts the position above r; ``periodic`` rows (R, S) -- at a review below S, order up to S, at
least the MOQ, rounded up to whole case packs. The weeks-of-supply rule reviews every
``review_days`` (7) days and orders up to ``W * 7 * a_t`` like (R, S), where ``a_t`` is the
average daily demand of the trailing ``window`` (28) days up to that review; days before the
demand table's first day count at the key's forecast rate (``daily_demand``, else the plan's
``demand_mean / (lead_time_mean + review_period)``). With ``start``, the table's days before it
are history: they feed that average and are not simulated.

**Lead times.** Each order's lead time is drawn from the key's lead-time records (bootstrap,
``item_id, location_id, lead_time_days``) when given, else from a gamma with the plan's
``lead_time_mean`` and ``lead_time_std`` (fixed when the std is 0), in whole days as the plan
reads them: t days are ``floor(t) + 1`` with probability ``t - floor(t)``, else ``floor(t)``
(a 2.5-day lead time is 2 or 3 days, half the orders each). The draws are seeded and indexed
by the day an order is placed, so the plan and the rule see the same lead time for an order
placed on the same day. Each order draws alone, so with a varying lead time a later order may
arrive before an earlier one (orders cross), which the plan's lead-time demand does not assume:
a replay then serves more than the plan's target, at more stock (a 95% fill-rate plan at
10 +- 8 days and a daily review replayed at 100% fill, holding about 3.5 times the stock of a
fixed 20-day lead time; an independent replay, 2026-12-07).

**Metrics** (per key over the T simulated days; ``overall`` sums the keys):

* ``fill_rate`` -- units served from stock on the day demanded / units demanded (NaN without
  demand); overall: total served / total demanded;
* ``stockout_days`` -- days whose demand was not fully served; ``empty_days`` -- days that end
  with nothing on hand (with or without demand); overall also ``stockout_rate``, the stockout
  days per key-day;
* ``avg_on_hand`` -- the mean of the end-of-day on hand (after receipts and sales); overall: the
  sum over keys, the network's average inventory;
* ``turns`` -- annualized inventory turns, units served / average on hand x 365 / T (NaN with
  nothing on hand); ``days_of_supply`` -- average on hand / average daily demand;
* ``orders``, ``units_ordered``, ``units_received``; ``ending_on_hand``, ``ending_on_order``.

**Inputs.** ``plan``: the table :func:`kernels.plan` returns; ``simulate`` reads ``item_id,
location_id``, ``review`` (``continuous``/``periodic``; without it, ``review_period > 0`` means
periodic), ``reorder_point`` and ``lot_size`` (continuous rows), ``order_up_to`` (periodic rows)
and ``lead_time_mean``/``lead_time_std`` (keys without lead-time records). ``review_period``
(periodic rows, whole days), ``case_pack`` (default 1), ``moq`` (default 0), ``on_hand`` (default:
the plan's order-up-to level; the inventory's less the plan's ``inspection_held``), ``on_order``
(default 0; it arrives one lead time after the day before day 0), ``backorders`` (default 0: units
owed at the start, as the plan's inventory position counts them: day 0 nets them against the
starting on hand, and receipts fill what on hand cannot) and
``daily_demand`` come from the plan or, when it lacks them, from the ``inventory`` table (the one
given to :func:`kernels.plan`).
``demand``: ``item_id, location_id, date`` (whole days, read as a forecasting panel reads them:
:func:`kernels.io.read_dates`; or an integer ``day``), ``demand`` -- one
row per key and day, consecutive days, the same days for every key; keys not in the plan are
ignored. Bad input is a ``ValueError`` naming the table or column and the (item, location) keys.

>>> import numpy as np
>>> import pandas as pd
>>> from kernels import Policy, plan
>>> from kernels.simulation import compare, simulate
>>> forecast = pd.DataFrame({"item_id": ["sku1", "sku2"], "location_id": "FC1",
...                          "demand_mean": [10.0, 4.0], "demand_std": [3.0, 2.0]})
>>> inventory = forecast[["item_id", "location_id"]].assign(
...     on_hand=[60.0, 40.0], lead_time_mean=4.0, review_period=[0, 7], case_pack=[6, 1])
>>> p = plan(forecast, inventory, Policy(service_level=0.95))
>>> days = pd.date_range("2024-03-04", periods=56)
>>> demand = pd.DataFrame({
...     "item_id": np.repeat(["sku1", "sku2"], 56), "location_id": "FC1",
...     "date": np.tile(days, 2),
...     "demand": np.concatenate([np.tile([8, 12, 10, 9, 14, 7, 10.0], 8),
...                               np.tile([4, 2, 9, 4, 0, 3, 6.0], 8)])})
>>> result = simulate(p, demand, inventory=inventory)
>>> result.metrics[["item_id", "fill_rate", "stockout_days", "avg_on_hand", "orders"]].round(2)
  item_id  fill_rate  stockout_days  avg_on_hand  orders
0    sku1        1.0              0        33.43       8
1    sku2        1.0              0        23.66       8
>>> both = compare(p, demand, inventory=inventory)
>>> both.rule.metrics[["item_id", "weeks", "avg_on_hand", "fill_rate", "stockout_days"]].round(2)
  item_id  weeks  avg_on_hand  fill_rate  stockout_days
0    sku1   1.58        33.48       0.98              4
1    sku2   1.96        23.66       1.00              0
>>> both.summary.loc[["fill_rate", "stockout_days", "avg_on_hand", "turns"]].round(3)
                 plan  weeks_of_supply
fill_rate       1.000            0.989
stockout_days   0.000            4.000
avg_on_hand    57.089           57.143
turns          89.509           88.398

With the same stock on average, the rule (sku1: 1.58 weeks of the trailing 4 weeks' demand)
runs out on 4 days where the plan's reorder point does not.
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import _simulate as core
from .config import RULE_RQ, RULE_RS
from .io import DAY_MONTH, atomic_write, read_dates
from .leadtime import whole_days
from .tables import (
    KEYS,
    _check_unique,
    _fail_rows,
    _key_codes,
    _key_rng,
    _labels,
    _lead_time_records,
    _nonnegative,
    _numbers,
    _numeric,
    _require_columns,
    _text_keyed,
)

__all__ = [
    "Comparison",
    "SimulationResult",
    "WeeksOfSupply",
    "compare",
    "plot",
    "simulate",
    "weeks_of_supply_rule",
]

DAYS_PER_YEAR = 365.0


def _c(values: Any, dtype: Any = np.float64) -> np.ndarray:
    """A writable C-contiguous copy: the kernel is compiled once for this array type (pandas
    hands out read-only arrays, a different Numba type that would compile again)."""
    return np.array(values, dtype=dtype, order="C", copy=True)


MAX_WEEKS = 1e6  # about 19,000 years of supply: beyond it 7 W x the rate may overflow to inf
MAX_DAYS = 100_000  # review period and trailing window (274 years; 2**64 stopped in NumPy)


@dataclass(frozen=True)
class WeeksOfSupply:
    """The spreadsheet rule: every ``review_days`` days, order up to ``weeks`` weeks of the
    average daily demand of the trailing ``window`` days (whole case packs, at least the MOQ).

    ``weeks``: one value for every key, or ``None`` (default) to choose it per key so that the
    rule's average on hand equals the plan's (bisection over the simulation, batched over keys,
    to a relative ``tolerance``, searching ``0 .. max_weeks``). The closest W tried is kept:
    whole case packs make the average on hand a step function of W, so a slow mover with a
    large pack may only come near its target (the keys' total matches closely).
    """

    weeks: float | None = None
    review_days: int = 7
    window: int = 28
    tolerance: float = 1e-3
    max_weeks: float = 520.0

    def __post_init__(self) -> None:
        # true read as 1 week, "2" stopped in NumPy's words, 1e308 weeks ordered infinite stock
        for name in ("weeks", "tolerance", "max_weeks"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, numbers.Real)
            ):
                raise ValueError(f"WeeksOfSupply.{name}: expected a number, got {value!r}")
        if self.weeks is not None and not (0 <= self.weeks <= MAX_WEEKS):
            raise ValueError(
                f"WeeksOfSupply.weeks: expected a number 0..{MAX_WEEKS:g}, got {self.weeks!r}"
            )
        for name in ("review_days", "window"):
            value = getattr(self, name)
            if (
                not isinstance(value, (int, np.integer))
                or isinstance(value, bool)
                or not 1 <= value <= MAX_DAYS
            ):
                raise ValueError(
                    f"WeeksOfSupply.{name}: expected a whole number 1..{MAX_DAYS}, got {value!r}"
                )
        if not 0 < self.tolerance < 1:
            raise ValueError(
                f"WeeksOfSupply.tolerance: expected 0 < tolerance < 1, got {self.tolerance!r}"
            )
        if not 0 < self.max_weeks <= MAX_WEEKS:
            raise ValueError(
                f"WeeksOfSupply.max_weeks: expected 0 < max_weeks <= {MAX_WEEKS:g}, got "
                f"{self.max_weeks!r}"
            )


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """What :func:`simulate` returns.

    ``rule``: ``"plan"`` or ``"weeks_of_supply"``; ``metrics``: one row per plan key (see the
    module docstring; the weeks-of-supply rule adds ``weeks`` and ``target_on_hand``, the plan's
    average on hand it was matched to); ``overall``: the same over all keys; ``days``: the
    simulated days (dates or day numbers); ``paths``: (keys x days) arrays ``demand, served,
    unmet, on_hand, on_order, ordered, received, backorders`` (end of day; ``unmet`` is lost or
    backordered); :meth:`daily` gives them as a long table.
    """

    rule: str
    metrics: pd.DataFrame
    overall: pd.Series
    days: pd.Index
    paths: dict[str, np.ndarray] = field(repr=False)
    lost_sales: bool = True

    def rows(self, keys: Any) -> np.ndarray:
        """Row positions of ``keys``: (item, location) pairs or a table with the key columns."""
        return _select(self.metrics[KEYS], keys)

    def daily(self, keys: Any = None) -> pd.DataFrame:
        """The trajectory as a long table: ``item_id, location_id, date`` (or ``day``),
        ``demand, served, unmet, on_hand, on_order, ordered, received`` (and ``backorders`` when
        demand is backordered), for ``keys`` (default: all)."""
        rows = np.arange(len(self.metrics)) if keys is None else self.rows(keys)
        n_days = len(self.days)
        out = self.metrics[KEYS].iloc[np.repeat(rows, n_days)].reset_index(drop=True)
        out[self.days.name or "date"] = np.tile(self.days.to_numpy(), len(rows))
        names = ["demand", "served", "unmet", "on_hand", "on_order", "ordered", "received"]
        if not self.lost_sales:
            names.append("backorders")
        for name in names:
            out[name] = self.paths[name][rows].reshape(-1)
        return out

    def plot(self, keys: Any, path: str | os.PathLike, **kwargs: Any) -> Path:
        """:func:`plot` of this result alone."""
        return plot({self.rule: self}, keys, path, **kwargs)


@dataclass(frozen=True, eq=False)
class Comparison:
    """What :func:`compare` returns: the ``plan`` and the ``rule`` simulated on the same days and
    lead-time draws, and ``summary``, their ``overall`` metrics side by side."""

    plan: SimulationResult
    rule: SimulationResult
    summary: pd.DataFrame

    def plot(self, keys: Any, path: str | os.PathLike, **kwargs: Any) -> Path:
        """:func:`plot` of both results on the same axes."""
        return plot({"plan": self.plan, "weeks of supply": self.rule}, keys, path, **kwargs)


# --- inputs -------------------------------------------------------------------------------------


@dataclass
class _Setup:
    keys: pd.DataFrame
    labels: list[str]
    days: pd.Index
    demand: np.ndarray  # (n, T) the simulated days
    history: np.ndarray  # (n, H) the days before ``start``
    periodic: np.ndarray
    reorder_point: np.ndarray
    order_up_to: np.ndarray
    lot: np.ndarray
    review: np.ndarray
    case_pack: np.ndarray
    moq: np.ndarray
    on_hand: np.ndarray
    on_order: np.ndarray
    lead: np.ndarray  # (n, T + 1) int64
    lost_sales: bool
    source: dict[str, pd.DataFrame]  # column name -> the aligned table holding it


def _prepare(
    plan: pd.DataFrame,
    demand: pd.DataFrame,
    lead_times: pd.DataFrame | None,
    inventory: pd.DataFrame | None,
    on_hand: Any,
    seed: int,
    lost_sales: bool,
    start: Any,
) -> _Setup:
    if not isinstance(plan, pd.DataFrame) or not isinstance(demand, pd.DataFrame):
        raise ValueError("simulate: plan and demand must be pandas DataFrames")
    # The seed feeds NumPy's generators (-1 and 1.5 stopped there in NumPy's words, true read
    # as 1); lost_sales "false" or "no" was true: demand lost, not backordered.
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed: expected a whole number >= 0, got {seed!r}")
    if not isinstance(lost_sales, bool | np.bool_):
        raise ValueError(f"lost_sales: expected true or false, got {lost_sales!r}")
    _require_columns(plan, "plan", KEYS)
    p = plan.reset_index(drop=True)
    if len(p) == 0:
        raise ValueError("plan: no rows to simulate")
    keys = p[KEYS].copy()
    # The other tables are matched on the keys' text, as plan() matches them: a plan written by
    # `stockcast plan` holds item "7", a demand or inventory table read as numbers 7.
    match = _text_keyed(keys)
    _check_unique(match, "plan", KEYS)
    labels = _labels(p)
    tables = [p]
    if inventory is not None:
        if not isinstance(inventory, pd.DataFrame):
            raise ValueError("inventory: expected a pandas DataFrame")
        _require_columns(inventory, "inventory", KEYS)
        inv = inventory.reset_index(drop=True)
        inv_keys = _text_keyed(inv[KEYS])
        _check_unique(inv_keys, "inventory", KEYS)
        pos = pd.MultiIndex.from_frame(inv_keys).get_indexer(pd.MultiIndex.from_frame(match))
        if (pos < 0).any():
            _fail_rows("inventory", "no inventory row for the plan row", pos < 0, labels)
        tables.append(inv.iloc[pos].reset_index(drop=True))
    source: dict[str, pd.DataFrame] = {}
    for table in reversed(tables):  # the plan's own columns win
        for name in table.columns:
            source[name] = table

    def column(name: str, default: float) -> np.ndarray:
        if name not in source:
            return np.full(len(p), default)
        return _numeric(source[name], name, labels, default=default, allow_missing=True)

    # Review: the plan's review column, else review_period > 0.
    if "review" in p.columns:
        review_kind = p["review"].astype(str).to_numpy()
        bad = ~np.isin(review_kind, ["continuous", "periodic"])
        if bad.any():
            _fail_rows("review", "must be 'continuous' or 'periodic'", bad, labels)
        periodic = review_kind == "periodic"
    elif "review_period" in source:
        periodic = np.nan_to_num(column("review_period", 0.0), nan=0.0) > 0
    else:
        raise ValueError("plan: missing column(s) review (or a review_period column)")
    cont = ~periodic

    review = np.ones(len(p), dtype=np.int64)
    if periodic.any():
        if "review_period" not in source:
            raise ValueError(
                "plan: periodic rows need a review_period column (in the plan or the inventory)"
            )
        period = column("review_period", np.nan)
        bad = periodic & ~(np.isfinite(period) & (period >= 1) & (period == np.floor(period)))
        if bad.any():
            _fail_rows(
                "review_period", "periodic rows need a whole number of days >= 1", bad, labels
            )
        review[periodic] = period[periodic].astype(np.int64)

    def required(name: str, rows: np.ndarray, what: str) -> np.ndarray:
        if rows.any() and name not in source:
            raise ValueError(f"plan: missing column(s) {name} ({what})")
        vals = column(name, np.nan)
        bad = rows & ~np.isfinite(vals)
        if bad.any():
            _fail_rows(name, "missing or non-finite value", bad, labels)
        return vals

    r = required("reorder_point", cont, "continuous-review rows")
    lot = required("lot_size", cont, "continuous-review rows")
    up_to = required("order_up_to", periodic, "periodic-review rows")
    case_pack = column("case_pack", 1.0)
    moq = column("moq", 0.0)
    bad = ~(np.isfinite(case_pack) & (case_pack > 0))
    if bad.any():
        _fail_rows("case_pack", "must be > 0", bad, labels)
    bad = ~np.isfinite(moq) | (moq < 0)
    if bad.any():
        _fail_rows("moq", "missing or negative value", bad, labels)
    bad = cont & ~(lot > 0)
    if bad.any():
        _fail_rows("lot_size", "must be > 0", bad, labels)
    packs = lot / case_pack
    with np.errstate(invalid="ignore"):
        off = (np.abs(packs - np.round(packs)) > 1e-9 * np.maximum(packs, 1.0)) | (lot < moq)
    bad = cont & off
    if bad.any():
        _fail_rows(
            "lot_size",
            "an (r, Q) lot size must be a whole number of case packs and at least the MOQ",
            bad,
            labels,
        )
    bad = periodic & (up_to < 0)
    if bad.any():
        _fail_rows("order_up_to", "negative value", bad, labels)
    reorder_point = np.where(cont, r, up_to)
    order_up_to = np.where(cont, r + lot, up_to)
    lot = np.where(cont, lot, 1.0)

    # Starting stock.
    if on_hand is not None:
        start_stock = np.asarray(on_hand, dtype=np.float64)
        if start_stock.ndim == 0:
            start_stock = np.full(len(p), float(start_stock))
        if start_stock.shape != (len(p),):
            raise ValueError(
                f"on_hand: expected a number or {len(p)} values (one per plan row), got shape "
                f"{start_stock.shape}"
            )
        bad = ~np.isfinite(start_stock) | (start_stock < 0)
        if bad.any():
            _fail_rows("on_hand", "missing or negative value", bad, labels)
    elif "on_hand" in source:
        start_stock = _numeric(source["on_hand"], "on_hand", labels)
        _nonnegative("on_hand", start_stock, labels)
        if "inspection_held" in p.columns and source["on_hand"] is not p:
            # The plan took the units inspection holds off on_hand; the inventory still has
            # them, and they are not there to sell.
            held = _numeric(p, "inspection_held", labels)
            start_stock = np.maximum(start_stock - np.nan_to_num(held), 0.0)
    else:
        start_stock = np.maximum(order_up_to, 0.0)
    on_order = column("on_order", 0.0)
    bad = ~np.isfinite(on_order) | (on_order < 0)
    if bad.any():
        _fail_rows("on_order", "missing or negative value", bad, labels)
    # Units owed at the start: the plan's position subtracts them, and the first receipts fill
    # them (they were dropped: the day-0 review saw a position that many units too high).
    backorders = column("backorders", 0.0)
    bad = ~np.isfinite(backorders) | (backorders < 0)
    if bad.any():
        _fail_rows("backorders", "missing or negative value", bad, labels)

    matrix, days, n_hist = _demand_matrix(demand, match, labels, start)
    n_days = matrix.shape[1] - n_hist
    lead = _lead_draws(lead_times, keys, labels, column, n_days, seed)
    return _Setup(
        keys=keys,
        labels=labels,
        days=days[n_hist:],
        demand=_c(matrix[:, n_hist:]),
        history=_c(matrix[:, :n_hist]),
        periodic=periodic,
        reorder_point=_c(reorder_point, dtype=np.float64),
        order_up_to=_c(order_up_to, dtype=np.float64),
        lot=_c(lot, dtype=np.float64),
        review=review,
        case_pack=_c(case_pack, dtype=np.float64),
        moq=_c(moq, dtype=np.float64),
        on_hand=_c(start_stock - backorders, dtype=np.float64),
        on_order=_c(on_order, dtype=np.float64),
        lead=lead,
        lost_sales=bool(lost_sales),
        source=source,
    )


def _demand_matrix(
    demand: pd.DataFrame, keys: pd.DataFrame, labels: list[str], start: Any
) -> tuple[np.ndarray, pd.Index, int]:
    """(keys x days) demand, the days, and how many leading days are history (before start)."""
    _require_columns(demand, "demand", KEYS + ["demand"])
    if "date" in demand.columns:
        time_col = "date"
    elif "day" in demand.columns:
        time_col = "day"
    else:
        raise ValueError("demand: missing column(s) date (or an integer day)")
    codes = _key_codes(_text_keyed(demand[KEYS]), keys)
    d = demand.loc[codes >= 0].reset_index(drop=True)
    codes = codes[codes >= 0]
    present = np.zeros(len(keys), dtype=bool)
    present[codes] = True
    if not present.all():
        _fail_rows("demand", "no demand for the plan row", ~present, labels)

    def fail(column: str, problem: str, rows: np.ndarray) -> None:
        # A problem in some rows of the demand table, named by their keys (each key once).
        per_key = np.zeros(len(keys), dtype=bool)
        per_key[codes[rows]] = True
        _fail_rows(column, problem, per_key, labels)

    if time_col == "date":
        # Read as the forecasting panel reads them (kernels.io.read_dates): dd/mm/yyyy dates
        # the panel accepted were "not a date" here, and YYYYMMDD integers, read by pandas as
        # nanoseconds after 1970, "not a whole day".
        stamps = _local_days(d["date"], lambda problem, rows: fail("date", problem, rows))
        bad = stamps.isna().to_numpy()
        if bad.any():
            fail("date", "not a date", bad)
        bad = (stamps != stamps.dt.normalize()).to_numpy()
        if bad.any():
            fail("date", "not a whole day (the simulation steps one day at a time)", bad)
        origin = stamps.min()
        idx = ((stamps - origin) // pd.Timedelta(days=1)).to_numpy(dtype=np.int64)
        all_days = pd.date_range(origin, periods=int(idx.max()) + 1, freq="D", name="date")
    else:
        raw = _numbers(d["day"])
        bad = ~np.isfinite(raw) | (raw != np.floor(raw))
        if bad.any():
            fail("day", "not a whole number", bad)
        origin = int(raw.min())
        idx = (raw - origin).astype(np.int64)
        all_days = pd.Index(np.arange(origin, origin + int(idx.max()) + 1), name="day")
    seen = np.zeros(len(all_days), dtype=bool)
    seen[idx] = True
    if not seen.all():
        gaps = [str(x) for x in all_days[~seen][:5]]
        raise ValueError(
            f"{time_col}: the demand's days must be consecutive; no row on {', '.join(gaps)}"
        )
    flat = codes * len(all_days) + idx
    dup = pd.Series(flat).duplicated(keep=False).to_numpy()
    if dup.any():
        fail("demand", f"duplicate {time_col} rows", dup)
    vals = _numbers(d["demand"])
    bad = ~np.isfinite(vals)
    if bad.any():
        fail("demand", "missing or non-numeric value", bad)
    bad = vals < 0
    if bad.any():
        fail("demand", "negative demand", bad)
    matrix = np.full((len(keys), len(all_days)), np.nan)
    matrix[codes, idx] = vals
    short = np.isnan(matrix).any(axis=1)
    if short.any():
        _fail_rows(
            "demand",
            f"missing {time_col}(s): every key needs one row per day from {all_days[0]} to "
            f"{all_days[-1]}",
            short,
            labels,
        )
    n_hist = 0
    if start is not None:
        # A start written as two numbers and a year (03/05/2024): pandas reads a lone date
        # month first, so a day-first 3 May started the simulation on 5 March without a word
        # (a panel refuses such dates unless its column tells the order).
        written = DAY_MONTH.match(start) if isinstance(start, str) else None
        if time_col == "date" and written:
            first_number, second_number = int(written[1]), int(written[3])
            if first_number != second_number and max(first_number, second_number) <= 12:
                raise ValueError(
                    f"start: ambiguous date {start!r} (day/month or month/day); write it YYYY-MM-DD"
                )
        try:
            first = _local_days(pd.Series([start]))[0] if time_col == "date" else int(start)
            if pd.isna(first):
                raise ValueError
        except (TypeError, ValueError):
            raise ValueError(f"start: not a {time_col}: {start!r}") from None
        n_hist = int(all_days.searchsorted(first, side="left"))
        if n_hist >= len(all_days):
            raise ValueError(f"start: {start} is after the demand's last {time_col}")
    return matrix, all_days, n_hist


def _local_days(raw: pd.Series, fail=None) -> pd.Series:
    """Dates as naive timestamps, read as a panel reads them (:func:`kernels.io.read_dates`,
    whose ``fail`` a refused column calls); a date with a time zone is its local calendar day
    (the offset of a local midnight changes across daylight saving: measured in absolute time,
    the 23-hour day made two days one, and pandas refuses to mix offsets)."""
    stamps = read_dates(raw, fail)
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_localize(None)
    return stamps


def _lead_draws(lead_times, keys, labels, column, n_days: int, seed: int) -> np.ndarray:
    """(n, T + 1) whole-day lead times: column 0 for the initial on order, t + 1 for day t."""
    n = len(keys)
    # Matched as text, as plan() matches them: the records are keyed by their text (item 7 is
    # "7"), so numeric keys found none and every order drew from the gamma instead.
    keys = _text_keyed(keys)
    records = _lead_time_records(lead_times, keys)
    have = np.array([r is not None for r in records], dtype=bool)
    mean = column("lead_time_mean", np.nan)
    std = np.nan_to_num(column("lead_time_std", 0.0), nan=0.0)
    bad = ~have & ~(np.isfinite(mean) & (mean >= 0))
    if bad.any():
        _fail_rows(
            "lead_time_mean",
            "no lead time (give lead_time_mean or lead-time records)",
            bad,
            labels,
        )
    bad = ~have & (std < 0)
    if bad.any():
        _fail_rows("lead_time_std", "negative value", bad, labels)
    # Each key draws from its own generator (the seed and the key, as the plan's sample-path
    # lead times do): a key's lead times do not depend on which other keys the plan holds, in
    # what order, or which of them have lead-time records.
    width = n_days + 1
    draws = np.empty((n, width))
    for i in range(n):
        fixed = not have[i] and not (std[i] > 0 and mean[i] > 0)
        if fixed and mean[i] == np.floor(mean[i]):
            draws[i] = mean[i]  # whole days, nothing drawn: no generator to build (20x slower)
            continue
        rng = _key_rng(seed, keys[KEYS[0]].iat[i], keys[KEYS[1]].iat[i])
        if have[i]:
            pool = np.asarray(records[i], dtype=np.float64)
            slot = np.minimum((rng.random(width) * len(pool)).astype(np.int64), len(pool) - 1)
            draws[i] = pool[slot]
        elif std[i] > 0 and mean[i] > 0:
            shape = (mean[i] / std[i]) ** 2
            draws[i] = rng.gamma(shape, std[i] ** 2 / mean[i], size=width)
        else:
            draws[i] = mean[i]
        # Whole days as the plan reads a lead time (kernels.leadtime.lead_time_pmf): t days
        # are floor(t) + 1 with probability t - floor(t), else floor(t), so the mean is kept.
        # Rounding to the nearest day (half to even) made every 2.5-day lead time 2 days and
        # every 3.5-day one 4: a plan expecting a 95% fill rate simulated 98% or 92%. The
        # uniforms come from a stream of their own, so day t's lead time does not depend on
        # how many days are simulated.
        draws[i] = whole_days(draws[i], rng)
    return _c(np.maximum(draws, 0.0), dtype=np.int64)


# --- running -----------------------------------------------------------------------------------


def _run(setup: _Setup, rule, reorder_point, order_up_to, lot, review, target_rate, record: bool):
    n, n_days = setup.demand.shape
    totals = np.empty((n, core.N_TOTALS))
    paths = np.zeros((core.N_PATHS, n, n_days) if record else (core.N_PATHS, 1, 1))
    daily_target = target_rate is not None
    core.simulate_rows(
        _c(rule, dtype=np.int8),
        _c(reorder_point, dtype=np.float64),
        _c(order_up_to, dtype=np.float64),
        _c(lot, dtype=np.float64),
        _c(review, dtype=np.int64),
        setup.case_pack,
        setup.moq,
        daily_target,
        target_rate if daily_target else np.zeros((1, 1)),
        setup.demand,
        setup.lead,
        setup.on_hand,
        setup.on_order,
        setup.lost_sales,
        record,
        totals,
        paths,
    )
    return totals, paths


def _run_plan(setup: _Setup, record: bool = True):
    rule = np.where(setup.periodic, RULE_RS, RULE_RQ)
    levels = setup.reorder_point, setup.order_up_to, setup.lot
    return _run(setup, rule, *levels, setup.review, None, record)


def _forecast_rate(setup: _Setup, need: np.ndarray, labels: list[str]) -> np.ndarray:
    """Daily demand per key before the demand table's first day (where ``need``)."""
    src = setup.source
    rate = np.full(len(labels), np.nan)
    if "daily_demand" in src:
        rate = _numeric(src["daily_demand"], "daily_demand", labels, allow_missing=True)
    missing = np.isnan(rate)
    if missing.any() and "demand_mean" in src and "lead_time_mean" in src:
        mean = _numeric(src["demand_mean"], "demand_mean", labels, allow_missing=True)
        lt = _numeric(src["lead_time_mean"], "lead_time_mean", labels, allow_missing=True)
        span = lt + np.where(setup.periodic, setup.review, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            derived = np.where(span > 0, mean / span, np.nan)
        rate = np.where(missing, derived, rate)
        # A zero lead time (and no review period) plans demand over no days: its demand_mean
        # is 0 whatever the item sells, so it gives no rate (the error named the columns the
        # plan has as the ones missing).
        instant = need & missing & (span <= 0) & np.isfinite(lt)
        if instant.any():
            _fail_rows(
                "daily_demand",
                "the weeks-of-supply rule needs the daily demand before the first day, and a "
                "row with lead_time_mean + review period 0 plans demand over no days (its "
                "demand_mean is 0); give a daily_demand column or history through start",
                instant,
                labels,
            )
    bad = need & ~(np.isfinite(rate) & (rate >= 0))
    if bad.any():
        _fail_rows(
            "daily_demand",
            "the weeks-of-supply rule needs the daily demand before the first day (a "
            "daily_demand column, the plan's demand_mean and lead_time_mean, or history through "
            "start)",
            bad,
            labels,
        )
    return np.nan_to_num(rate, nan=0.0)


def _trailing_rate(setup: _Setup, window: int) -> np.ndarray:
    """(n, T) average daily demand over the ``window`` days up to each simulated day."""
    n, n_days = setup.demand.shape
    n_hist = setup.history.shape[1]
    pad = max(window - n_hist, 0)
    prior = _forecast_rate(setup, np.full(n, pad > 0), setup.labels) if pad else np.zeros(n)
    ext = np.concatenate(
        [np.repeat(prior[:, None], pad, axis=1), setup.history, setup.demand], axis=1
    )
    csum = np.concatenate([np.zeros((n, 1)), np.cumsum(ext, axis=1)], axis=1)
    end = pad + n_hist + np.arange(1, n_days + 1)  # days summed: [end - window, end)
    rate = (csum[:, end] - csum[:, end - window]) / window
    return _c(np.maximum(rate, 0.0))


def _run_rule(setup: _Setup, weeks: np.ndarray, rate: np.ndarray, review_days: int, record: bool):
    n = len(weeks)
    return _run(
        setup,
        np.full(n, RULE_RS),
        np.zeros(n),
        7.0 * np.asarray(weeks, dtype=np.float64),
        np.ones(n),
        np.full(n, review_days, dtype=np.int64),
        rate,
        record,
    )


def _calibrate(setup: _Setup, rule: WeeksOfSupply, rate: np.ndarray, target: np.ndarray):
    """Weeks per key whose average on hand is closest to ``target`` (batched bisection)."""
    n, n_days = setup.demand.shape

    best = np.zeros(n)
    best_gap = np.full(n, np.inf)

    def avg(weeks):
        # Average on hand under ``weeks``; remembers each key's closest W so far (case packs
        # make the average a step function of W, not always monotone at the steps).
        got = _run_rule(setup, weeks, rate, rule.review_days, False)[0][:, 2] / n_days
        gap = np.abs(got - target)
        closer = gap < best_gap
        best[closer], best_gap[closer] = weeks[closer], gap[closer]
        return got

    lo = np.zeros(n)
    avg_lo = avg(lo)
    mean_rate = rate.mean(axis=1)
    active = mean_rate > 0  # a key without demand never orders, whatever W
    with np.errstate(invalid="ignore", divide="ignore"):
        guess = np.where(active, 2.0 * np.maximum(setup.order_up_to, 0.0) / (7.0 * mean_rate), 1.0)
    hi = np.clip(guess, 1.0, rule.max_weeks)
    avg_hi = avg(hi)
    while True:  # widen until the bracket holds the target (or W reaches max_weeks)
        grow = active & (avg_hi < target) & (hi < rule.max_weeks)
        if not grow.any():
            break
        hi = np.where(grow, np.minimum(hi * 2.0, rule.max_weeks), hi)
        avg_hi = np.where(grow, avg(hi), avg_hi)
    tol = rule.tolerance * np.maximum(target, 1e-9)
    for _ in range(100):
        done = (
            ~active
            | (np.abs(avg_lo - target) <= tol)
            | (np.abs(avg_hi - target) <= tol)
            | (avg_lo >= target)
            | (avg_hi < target)
            | (hi - lo <= 1e-9 * np.maximum(hi, 1.0))
        )
        if done.all():
            break
        mid = np.where(done, lo, 0.5 * (lo + hi))
        got = avg(mid)
        below = ~done & (got < target)
        above = ~done & ~(got < target)
        lo, avg_lo = np.where(below, mid, lo), np.where(below, got, avg_lo)
        hi, avg_hi = np.where(above, mid, hi), np.where(above, got, avg_hi)
    return np.where(active, best, 0.0)


# --- results -----------------------------------------------------------------------------------


def _result(setup: _Setup, rule: str, totals: np.ndarray, paths: np.ndarray, extra=None):
    n_days = setup.demand.shape[1]
    t = {name: totals[:, k] for k, name in enumerate(core.TOTALS)}
    avg = t["on_hand_days"] / n_days
    with np.errstate(invalid="ignore", divide="ignore"):
        fill = np.where(t["demand"] > 0, t["served"] / t["demand"], np.nan)
        turns = np.where(avg > 0, t["served"] / avg * DAYS_PER_YEAR / n_days, np.nan)
        dos = np.where(t["demand"] > 0, avg / (t["demand"] / n_days), np.nan)
    m = setup.keys.reset_index(drop=True).copy()
    m["demand"] = t["demand"]
    m["served"] = t["served"]
    m["unmet"] = t["demand"] - t["served"]
    m["fill_rate"] = fill
    m["stockout_days"] = t["stockout_days"].astype(np.int64)
    m["empty_days"] = t["empty_days"].astype(np.int64)
    m["avg_on_hand"] = avg
    m["turns"] = turns
    m["days_of_supply"] = dos
    m["orders"] = t["orders"].astype(np.int64)
    m["units_ordered"] = t["units_ordered"]
    m["units_received"] = t["units_received"]
    m["ending_on_hand"] = t["ending_on_hand"]
    m["ending_on_order"] = t["ending_on_order"]
    for name, values in (extra or {}).items():
        m[name] = values
    demand, served, on_hand = t["demand"].sum(), t["served"].sum(), avg.sum()
    n_keys = len(m)
    overall = pd.Series(
        {
            "keys": n_keys,
            "days": n_days,
            "demand": demand,
            "served": served,
            "unmet": demand - served,
            "fill_rate": served / demand if demand > 0 else np.nan,
            "stockout_days": int(m["stockout_days"].sum()),
            "stockout_rate": m["stockout_days"].sum() / (n_keys * n_days),
            "empty_days": int(m["empty_days"].sum()),
            "avg_on_hand": on_hand,
            "turns": served / on_hand * DAYS_PER_YEAR / n_days if on_hand > 0 else np.nan,
            "days_of_supply": on_hand / (demand / n_days) if demand > 0 else np.nan,
            "orders": int(m["orders"].sum()),
            "units_ordered": m["units_ordered"].sum(),
        },
        name=rule,
        dtype=np.float64,
    )
    names = dict(zip(core.PATHS, paths)) if paths.shape[2] == n_days else {}
    arrays = {"demand": setup.demand, **names}
    if "served" in arrays:
        arrays["unmet"] = setup.demand - arrays["served"]
    return SimulationResult(
        rule=rule,
        metrics=m,
        overall=overall,
        days=setup.days,
        paths=arrays,
        lost_sales=setup.lost_sales,
    )


def _rule_of(rule: Any) -> WeeksOfSupply | None:
    if isinstance(rule, WeeksOfSupply):
        return rule
    if rule == "plan":
        return None
    if rule == "weeks_of_supply":
        return WeeksOfSupply()
    raise ValueError(f"rule: expected 'plan', 'weeks_of_supply' or a WeeksOfSupply, got {rule!r}")


def _simulate_rule(setup: _Setup, wos: WeeksOfSupply, plan_result: SimulationResult | None):
    rate = _trailing_rate(setup, wos.window)
    n = setup.demand.shape[0]
    if wos.weeks is not None:
        weeks = np.full(n, float(wos.weeks))
        target = np.full(n, np.nan)
        if plan_result is not None:
            target = plan_result.metrics["avg_on_hand"].to_numpy()
    else:
        if plan_result is None:
            plan_result = _result(setup, "plan", *_run_plan(setup, record=False))
        target = plan_result.metrics["avg_on_hand"].to_numpy()
        weeks = _calibrate(setup, wos, rate, target)
    totals, paths = _run_rule(setup, weeks, rate, wos.review_days, True)
    extra = {"weeks": weeks, "target_on_hand": target}
    return _result(setup, "weeks_of_supply", totals, paths, extra)


# --- public API --------------------------------------------------------------------------------


def simulate(
    plan: pd.DataFrame,
    demand: pd.DataFrame,
    lead_times: pd.DataFrame | None = None,
    *,
    inventory: pd.DataFrame | None = None,
    on_hand: Any = None,
    seed: int = 0,
    rule: str | WeeksOfSupply = "plan",
    lost_sales: bool = True,
    start: Any = None,
) -> SimulationResult:
    """Simulate ``plan``'s order rules (``rule="plan"``) or the weeks-of-supply rule over the
    days of ``demand`` (see the module docstring for the inputs, the day and the metrics).

    ``lead_times``: optional lead-time records (``item_id, location_id, lead_time_days``) to
    bootstrap each order's lead time from; ``inventory``: the inventory table, for the columns
    the plan lacks (``review_period``, ``case_pack``, ``moq``, ``on_hand``, ``on_order``);
    ``on_hand``: the starting stock (a number or one per plan row), overriding the tables';
    ``seed``: of the lead-time draws; ``rule``: ``"plan"``, ``"weeks_of_supply"`` (W per key
    matched to the plan's average on hand) or a :class:`WeeksOfSupply`; ``lost_sales``: lose
    (default) or backorder unmet demand; ``start``: the first simulated day (earlier rows are
    history for the rule's trailing average; text such as ``03/05/2024``, whose day and month
    may be either number, is refused: write it YYYY-MM-DD).
    """
    wos = _rule_of(rule)
    setup = _prepare(plan, demand, lead_times, inventory, on_hand, seed, lost_sales, start)
    if wos is None:
        return _result(setup, "plan", *_run_plan(setup))
    return _simulate_rule(setup, wos, None)


def compare(
    plan: pd.DataFrame,
    demand: pd.DataFrame,
    lead_times: pd.DataFrame | None = None,
    *,
    rule: WeeksOfSupply | None = None,
    inventory: pd.DataFrame | None = None,
    on_hand: Any = None,
    seed: int = 0,
    lost_sales: bool = True,
    start: Any = None,
) -> Comparison:
    """The plan and the weeks-of-supply ``rule`` (default ``WeeksOfSupply()``: W per key matched
    to the plan's average on hand) on the same demand, starting stock and lead-time draws;
    arguments as :func:`simulate`."""
    wos = WeeksOfSupply() if rule is None else _rule_of(rule)
    if wos is None:
        raise ValueError("rule: compare needs a weeks-of-supply rule, not 'plan'")
    setup = _prepare(plan, demand, lead_times, inventory, on_hand, seed, lost_sales, start)
    planned = _result(setup, "plan", *_run_plan(setup))
    ruled = _simulate_rule(setup, wos, planned)
    summary = pd.DataFrame({"plan": planned.overall, "weeks_of_supply": ruled.overall})
    return Comparison(plan=planned, rule=ruled, summary=summary)


def weeks_of_supply_rule(
    plan: pd.DataFrame,
    demand: pd.DataFrame,
    target_on_hand: Any,
    lead_times: pd.DataFrame | None = None,
    *,
    rule: WeeksOfSupply | None = None,
    inventory: pd.DataFrame | None = None,
    on_hand: Any = None,
    seed: int = 0,
    lost_sales: bool = True,
    start: Any = None,
) -> SimulationResult:
    """The weeks-of-supply rule with W per key chosen so that its average on hand matches
    ``target_on_hand`` (a number or one per plan row) rather than the plan's; the plan supplies
    the keys, case packs, MOQ, lead times and forecast rate. Arguments as :func:`simulate`."""
    wos = WeeksOfSupply() if rule is None else rule
    setup = _prepare(plan, demand, lead_times, inventory, on_hand, seed, lost_sales, start)
    n = setup.demand.shape[0]
    target = np.asarray(target_on_hand, dtype=np.float64)
    target = np.full(n, float(target)) if target.ndim == 0 else target
    if target.shape != (n,):
        raise ValueError(f"target_on_hand: expected a number or {n} values, got {target.shape}")
    bad = ~np.isfinite(target) | (target < 0)
    if bad.any():
        _fail_rows("target_on_hand", "missing or negative value", bad, setup.labels)
    rate = _trailing_rate(setup, wos.window)
    weeks = _calibrate(setup, wos, rate, target)
    totals, paths = _run_rule(setup, weeks, rate, wos.review_days, True)
    extra = {"weeks": weeks, "target_on_hand": target}
    return _result(setup, "weeks_of_supply", totals, paths, extra)


def _select(keys_table: pd.DataFrame, keys: Any) -> np.ndarray:
    if isinstance(keys, pd.DataFrame):
        _require_columns(keys, "keys", KEYS)
        wanted = keys[KEYS].reset_index(drop=True)
    else:
        single = isinstance(keys, tuple) and not isinstance(keys[0], (tuple, list))
        pairs = [keys] if single else [tuple(k) for k in keys]
        wanted = pd.DataFrame(pairs, columns=KEYS)
    pos = pd.MultiIndex.from_frame(keys_table.reset_index(drop=True)).get_indexer(
        pd.MultiIndex.from_frame(wanted)
    )
    if (pos < 0).any():
        _fail_rows("keys", "not in the simulation", pos < 0, _labels(wanted))
    return pos


def _percent(share: float) -> str:
    """``share`` as a percentage with one decimal, or as many more as it takes not to read as
    100% while below it: 3 units lost of 6,000 (a fill rate of 0.9995) read "100.0%" in a
    panel title beside its stockout marker."""
    digits = 1
    while digits < 6 and share < 1 and f"{share:.{digits}%}".startswith("100"):
        digits += 1
    return f"{share:.{digits}%}"


def plot(
    results: SimulationResult | Mapping[str, SimulationResult],
    keys: Any,
    path: str | os.PathLike,
    *,
    title: str | None = None,
) -> Path:
    """Draw on-hand inventory over time and the stockout days of each result, one panel per key
    (``keys``: (item, location) pairs or a table with the key columns), all results on the same
    axes, with the day's demand as grey bars; write the image to ``path`` (format from its
    suffix, e.g. ``.png`` or ``.svg``; the file appears whole or not at all). Returns the path.
    Uses Matplotlib's Agg canvas (no display, no global pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    named = {"result": results} if isinstance(results, SimulationResult) else dict(results)
    if not named:
        raise ValueError("plot: no results to draw")
    first = next(iter(named.values()))
    for name, res in named.items():
        if "on_hand" not in res.paths:
            raise ValueError(f"plot: result {name!r} has no trajectory")
        if not res.metrics[KEYS].equals(first.metrics[KEYS]) or not res.days.equals(first.days):
            raise ValueError(f"plot: result {name!r} covers other keys or days than the first")
    rows = first.rows(keys)
    out = Path(path)
    fmt = out.suffix.lstrip(".").lower() or "png"
    x = first.days.to_numpy()
    fig = Figure(figsize=(10, 2.6 * len(rows) + 0.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(rows), 1, sharex=True, squeeze=False)[:, 0]
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple"]
    for ax, row in zip(axes, rows):
        item, loc = first.metrics[KEYS].iloc[row]
        ax.bar(x, first.paths["demand"][row], color="0.85", width=0.8, label="demand")
        fills = []
        for k, (name, res) in enumerate(named.items()):
            color = colors[k % len(colors)]
            ax.step(
                x, res.paths["on_hand"][row], where="post", color=color, label=f"{name} on hand"
            )
            out_days = res.paths["unmet"][row] > 0
            if out_days.any():
                ax.plot(
                    x[out_days],
                    np.full(out_days.sum(), 0.03 + 0.035 * k),  # in the band below 0
                    "v",
                    color=color,
                    transform=ax.get_xaxis_transform(),
                    label=f"{name} stockout",
                )
            fill = res.metrics["fill_rate"].iloc[row]
            fills.append(f"{name} {_percent(fill)}" if np.isfinite(fill) else f"{name} -")
        # ids are text, not TeX: "$" in an id started math mode (or failed to parse)
        heading = f"{item} @ {loc}   fill rate: {', '.join(fills)}"
        ax.set_title(heading, fontsize=9, loc="left", parse_math=False)
        ax.set_ylabel("units")
        top = max(ax.get_ylim()[1], 1.0)
        ax.set_ylim(-0.03 * top - 0.04 * top * len(named), top)  # a band for the markers
        ax.axhline(0.0, color="0.5", linewidth=0.6)
    # One legend for every panel's entries: the first panel's own left out the stockout markers
    # of results that stocked out only in a later panel.
    entries: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    axes[0].legend(entries.values(), entries.keys(), fontsize=7, ncol=3, loc="upper right")
    if title:
        fig.suptitle(title)
    return atomic_write(out, lambda tmp: fig.savefig(tmp, format=fmt, dpi=110))

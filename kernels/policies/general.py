"""Reorder levels at a cycle service level or a fill rate, for continuous or periodic review.

One entry point per representation of the demand over the protection interval:
:func:`policy_from_samples` (samples), :func:`policy_from_quantiles` (cumulative-quantile tables
mixed over random lead times) and :func:`policy_parametric` (moment-fitted shapes, see
:mod:`kernels.policies.shapes`). The pair (A, B), the shift c and the fill-rate equation they
solve are described in :mod:`kernels.policies`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .. import validate as v
from .._special import norm_ppf
from ..config import CYCLE, FILL_RATE, NEGBIN, SHAPES
from ..quantiles import (
    knot_constants,
    repair_row,
    table_cdf,
    table_loss,
    table_loss_tail,
    table_ppf,
    tail_slope,
)
from ..samples import sample_cdf, sample_loss, sample_quantile
from ._common import CHUNK, check_levels
from .shapes import dist_cdf, dist_loss, dist_ppf

COUNT_MEAN_MAX = 1e10
"""The largest protection-interval mean the ``negbin`` shape plans (its CDF is good to 1e-5
there against scipy)."""

_BISECT_ITERS = 200
_REL_TOL = 1e-12


def _check_policy_rows(n, service_level, service_type, shift):
    sl = v.broadcast_rows("service_level", service_level, n)
    v.check_open_unit("service_level", sl)
    st = v.broadcast_rows("service_type", service_type, n, dtype=np.int64)
    bad = (st != CYCLE) & (st != FILL_RATE)
    if bad.any():
        v.fail("service_type", "must be 0 (cycle) or 1 (fill_rate)", bad)
    c = v.broadcast_rows("shift", shift, n)
    v.check_nonnegative("shift", c)
    return sl, st.astype(np.int8), c


@njit(cache=True)
def _cycle_demand(mean_a, mean_b, shift):
    # (m, flat, none): the demand per replenishment cycle m = E[A] - E[B] + c, whether it is not
    # positive (a fill rate is then undefined), and whether the row has no demand at all.
    m = mean_a - mean_b + shift
    none = mean_a == 0.0 and mean_b == 0.0 and shift == 0.0
    return m, not m > 0.0, none


@njit(cache=True)
def _fill_of(short, m, none):
    # No demand at all: nothing is short, fill rate 1. Otherwise undefined (NaN) unless m > 0.
    if not m > 0.0:
        return 1.0 if none else math.nan
    f = 1.0 - short / m
    return min(1.0, max(0.0, f))


class NoCycleDemandError(ValueError):
    """A fill-rate row whose demand per replenishment cycle E[A] - E[B] + shift is not positive
    (while it has demand): its fill rate is undefined. ``rows`` holds the positional rows."""

    def __init__(self, field, problem, rows):
        self.rows = np.asarray(rows, dtype=np.int64)
        super().__init__(f"{field}: {problem} at {v.describe_rows(self.rows)}")


def _raise_no_cycle_demand(field, bad, b_is_a):
    if b_is_a:
        v.fail("shift", "fill-rate rows with B = A (continuous review) need shift (Q) > 0", bad)
    raise NoCycleDemandError(
        field,
        "fill-rate rows need demand per replenishment cycle m = E[A] - E[B] + shift > 0 "
        "(E[B] >= E[A] + shift here)",
        np.flatnonzero(bad),
    )


# --- samples ---------------------------------------------------------------------------------


@njit(cache=True)
def _short_samples(a, b, s, c):
    return sample_loss(a, s) - sample_loss(b, s + c)


@njit(parallel=True, cache=True)
def _policy_samples_kernel(
    a, b, shift, counted, service_level, service_type, level, mean, csl, fill, bad
):
    n, ns = a.shape
    for c in prange((n + CHUNK - 1) // CHUNK):
        buf = np.empty(ns, dtype=a.dtype)
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            ra = a[i]
            rb = b[i]
            sh = shift[i]
            mean_a = 0.0
            hi = 0.0
            for j in range(ns):
                mean_a += ra[j]
                hi = max(hi, ra[j])
            mean_a /= ns
            mean_b = 0.0
            for j in range(rb.shape[0]):
                mean_b += rb[j]
            mean_b /= rb.shape[0]
            m, flat, none = _cycle_demand(mean_a, mean_b, sh)
            bad[i] = flat and not none and service_type[i] == FILL_RATE
            # Whole-unit demand (and lot): stock positions move in whole units, so a level
            # between two integers acts as the integer below it.
            whole_a = True
            for j in range(ns):
                if ra[j] != math.floor(ra[j]):
                    whole_a = False
            # ``counted``: count paths whose sums are not whole (a weekly path summed over 10
            # days takes 3/7 of its second week): stock still moves in whole units.
            part = counted[i] and not whole_a
            whole = (whole_a or part) and sh == math.floor(sh)
            for j in range(rb.shape[0]):
                if rb[j] != math.floor(rb[j]) and not counted[i]:
                    whole = False
            if service_type[i] == CYCLE:
                s = sample_quantile(ra, service_level[i], buf)
                if part:
                    # The smallest whole level whose sample CDF meets the target: the CDF only
                    # steps at the samples, so it is the ceiling of a sample, and each move jumps
                    # to the next one. Stepping a unit at a time took 15 ms a row at 1e8 units a
                    # week (26 minutes for 100k rows) and never ended past 2**53 (k + 1 == k).
                    k = max(math.floor(s), 0.0)
                    while k > 0 and sample_cdf(ra, k - 1.0) >= service_level[i]:
                        below = 0.0  # the largest sample at or below k - 1 (one exists)
                        for j in range(ns):
                            if below < ra[j] <= k - 1.0:
                                below = ra[j]
                        if math.ceil(below) >= k:
                            break
                        k = math.ceil(below)
                    while sample_cdf(ra, k) < service_level[i]:
                        above = math.inf  # the smallest sample above k (one exists: p < 1)
                        for j in range(ns):
                            if k < ra[j] < above:
                                above = ra[j]
                        k = math.ceil(above)
                    s = k
                elif whole_a and sample_cdf(ra, math.floor(s)) < service_level[i]:
                    # Count demand: a level between two integers acts as the integer below it,
                    # where the linear quantile can miss the target (19.525 of 1..20 at 97.5%
                    # served 95%); the next sample value up meets it.
                    k = math.floor(s)
                    s = math.inf
                    for j in range(ns):
                        if k < ra[j] < s:
                            s = ra[j]
                elif whole_a:
                    # The smallest whole level that meets the target is the largest sample value
                    # at or below the linear quantile (the CDF is flat between sample values).
                    # Left fractional, plan ordered up to it rounded up a unit: 2.35 of
                    # [1, 2, 3, 4] at 45% stocked 3 (75%) and reported 50%, a newsvendor row
                    # ordering past its cost-minimizing 2.
                    top = -math.inf
                    for j in range(ns):
                        if top < ra[j] <= s:
                            top = ra[j]
                    s = top
            elif flat:
                s = 0.0 if none else math.nan
            else:
                target = (1.0 - service_level[i]) * m
                if whole:
                    # Whole-unit shortages are multiples of 1 / n_samples, so a level can meet the
                    # target exactly; 1 - service_level rounds either way (1 - 0.9 < 0.1 but
                    # 1 - 0.7 > 0.3), which alone must not add a unit.
                    target += 1e-9 * m
                if _short_samples(ra, rb, 0.0, sh) <= target:
                    s = 0.0
                else:
                    # shortage(max A) <= 0 <= target; shortage(0) > target.
                    lo = 0.0
                    for _ in range(_BISECT_ITERS):
                        mid = 0.5 * (lo + hi)
                        if _short_samples(ra, rb, mid, sh) <= target:
                            hi = mid
                        else:
                            lo = mid
                        if hi - lo <= _REL_TOL * max(hi, 1.0):
                            break
                    s = hi
                    if whole:
                        # Count demand: the smallest whole level that meets the target.
                        k = math.floor(s)
                        s = k if _short_samples(ra, rb, k, sh) <= target else k + 1.0
            level[i] = s
            mean[i] = mean_a
            if s == s:
                csl[i] = sample_cdf(ra, s)
                fill[i] = _fill_of(_short_samples(ra, rb, s, sh), m, none)
            else:  # a fill-rate row without demand per cycle: reported as an error
                csl[i] = math.nan
                fill[i] = math.nan


def _policy_outputs(n):
    return {k: np.empty(n) for k in ("level", "mean", "cycle_service", "fill_rate")}


def policy_from_samples(
    a, b=None, *, shift=0.0, service_level, service_type=CYCLE, counted=None
) -> dict[str, np.ndarray]:
    """Reorder levels from demand samples, cycle service or fill rate, per row.

    ``a`` (n_rows, n_samples): samples of demand over the protection interval (D_L for continuous
    review, D_{L+R} for periodic review). ``b`` (n_rows, n_samples_b): samples of D_L for periodic
    review, drawn on the same paths as ``a``; ``None`` means ``b = a`` (continuous review).
    ``shift``: the lot size Q for continuous review, 0 for periodic review.
    ``service_level`` (scalar or (n_rows,), in (0, 1)): the target, a cycle service level or a
    fill rate as ``service_type`` says. ``service_type``: 0/``CYCLE`` or 1/``FILL_RATE`` per row.
    ``counted`` (n_rows,) bool, optional: rows of count demand whose samples are not whole
    (sums of a part of a coarser step, as :func:`kernels.tables.plan` reads weekly paths at 10
    days); like rows of whole samples, they are planned to the smallest whole level that meets
    the target.

    Returns a dict of float64 arrays: ``level`` (reorder point r or order-up-to S), ``mean``
    (E[A], so safety stock = level - mean), ``cycle_service`` (P(A <= level)) and ``fill_rate``
    (expected fill rate at that level).
    """
    a = _sample_matrix("a", a)
    b = a if b is None else _sample_matrix("b", b)
    n = a.shape[0]
    v.check_length("b", b, n)
    if b.dtype != a.dtype:
        b = b.astype(a.dtype)
    sl, st, c = _check_policy_rows(n, service_level, service_type, shift)
    counted = _counted_rows(counted, n)
    out = _policy_outputs(n)
    bad = np.zeros(n, dtype=np.bool_)
    _policy_samples_kernel(
        a,
        b,
        c,
        counted,
        sl,
        st,
        out["level"],
        out["mean"],
        out["cycle_service"],
        out["fill_rate"],
        bad,
    )
    if bad.any():
        _raise_no_cycle_demand("b", bad, b is a)
    return out


def _counted_rows(counted, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.bool_) if counted is None else np.asarray(counted, np.bool_)
    if out.shape != (n,):
        raise ValueError(f"counted: expected shape {(n,)}, got {out.shape}")
    return out


def _sample_matrix(field, x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        x = v.as_float_array(field, x)
    x = np.ascontiguousarray(x)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"{field}: expected shape (n_rows, n_samples), got {x.shape}")
    v.check_nonnegative(field, x)
    return x


# --- moment-fitted shapes ----------------------------------------------------------------------


@njit(cache=True)
def _short_param(shape, s, mu_a, sd_a, mu_b, sd_b, c):
    return dist_loss(shape, s, mu_a, sd_a) - dist_loss(shape, s + c, mu_b, sd_b)


@njit(parallel=True, cache=True)
def _policy_param_kernel(
    shape, mean_a, std_a, mean_b, std_b, shift, service_level, service_type, level, csl, fill, bad
):
    n = mean_a.shape[0]
    for i in prange(n):
        mu_a = mean_a[i]
        sd_a = std_a[i]
        mu_b = mean_b[i]
        sd_b = std_b[i]
        sh = shift[i]
        m, flat, none = _cycle_demand(mu_a, mu_b, sh)
        bad[i] = flat and not none and service_type[i] == FILL_RATE
        if service_type[i] == CYCLE:
            s = max(dist_ppf(shape, service_level[i], mu_a, sd_a), 0.0)
        elif flat:
            s = 0.0 if none else math.nan
        else:
            target = (1.0 - service_level[i]) * m
            if _short_param(shape, 0.0, mu_a, sd_a, mu_b, sd_b, sh) <= target:
                s = 0.0
            else:
                lo = 0.0
                hi = mu_a + sh + 8.0 * sd_a + 1.0
                while _short_param(shape, hi, mu_a, sd_a, mu_b, sd_b, sh) > target:
                    lo = hi
                    hi *= 2.0
                if shape == NEGBIN:
                    # Count demand: the smallest integer level that meets the target.
                    lo = math.floor(lo)
                    hi = math.ceil(hi)
                    while hi - lo > 1.0:
                        mid = math.floor(0.5 * (lo + hi))
                        if _short_param(shape, mid, mu_a, sd_a, mu_b, sd_b, sh) <= target:
                            hi = mid
                        else:
                            lo = mid
                else:
                    for _ in range(_BISECT_ITERS):
                        mid = 0.5 * (lo + hi)
                        if _short_param(shape, mid, mu_a, sd_a, mu_b, sd_b, sh) <= target:
                            hi = mid
                        else:
                            lo = mid
                        if hi - lo <= _REL_TOL * max(hi, 1.0):
                            break
                s = hi
        level[i] = s
        if s == s:
            csl[i] = dist_cdf(shape, s, mu_a, sd_a)
            fill[i] = _fill_of(_short_param(shape, s, mu_a, sd_a, mu_b, sd_b, sh), m, none)
        else:  # a fill-rate row without demand per cycle: reported as an error
            csl[i] = math.nan
            fill[i] = math.nan


def policy_parametric(
    mean_a,
    std_a,
    mean_b=None,
    std_b=None,
    *,
    shift=0.0,
    service_level,
    service_type=CYCLE,
    shape: str = "normal",
) -> dict[str, np.ndarray]:
    """Reorder levels for moment-fitted demand over the protection interval.

    ``mean_a``/``std_a``: moments of A (see :func:`kernels.leadtime.lead_time_demand_moments`);
    ``mean_b``/``std_b``: moments of B = D_L for periodic review (``None``: B = A, continuous
    review). ``shape``: ``"normal"`` (safety stock z * sigma), ``"gamma"`` or ``"negbin"``
    (negative binomial, Poisson when the variance does not exceed the mean; integer levels).
    Other arguments and the result as in :func:`policy_from_samples`.
    """
    if shape not in SHAPES:
        raise ValueError(f"shape: must be one of {sorted(SHAPES)}, got {shape!r}")
    mean_a = v.as_float_array("mean_a", mean_a, ndim=1)
    n = mean_a.shape[0]
    b_is_a = mean_b is None and std_b is None
    std_a = v.broadcast_rows("std_a", std_a, n)
    mean_b = mean_a if mean_b is None else v.broadcast_rows("mean_b", mean_b, n)
    std_b = std_a if std_b is None else v.broadcast_rows("std_b", std_b, n)
    for name, arr in (("mean_a", mean_a), ("std_a", std_a), ("mean_b", mean_b), ("std_b", std_b)):
        v.check_nonnegative(name, arr)
    if shape == "negbin":
        for name, arr in (("mean_a", mean_a), ("mean_b", mean_b)):
            # The count law's incomplete beta / gamma lose their digits past this mean (its
            # CDF at the mean read 0.0 at 1e15 and 1.0 at 1e17, and a quantile search at 1e19
            # never ended); a count that large is continuous for planning anyway.
            too_large = arr > COUNT_MEAN_MAX
            if too_large.any():
                v.fail(
                    name,
                    f"mean above {COUNT_MEAN_MAX:.0e} units, beyond the negative binomial's "
                    "precision (use shape 'gamma' or 'normal')",
                    too_large,
                )
    sl, st, c = _check_policy_rows(n, service_level, service_type, shift)
    out = _policy_outputs(n)
    bad = np.zeros(n, dtype=np.bool_)
    _policy_param_kernel(
        SHAPES[shape],
        mean_a,
        std_a,
        mean_b,
        std_b,
        c,
        sl,
        st,
        out["level"],
        out["cycle_service"],
        out["fill_rate"],
        bad,
    )
    if bad.any():
        _raise_no_cycle_demand("mean_b", bad, b_is_a)
    out["mean"] = mean_a.copy()
    return out


# --- quantile tables mixed over horizons (random lead times) ----------------------------------


@njit(cache=True)
def _mix_cdf(r, w, kc, x):
    total = 0.0
    for h in range(w.shape[0]):
        if w[h] > 0.0:
            total += w[h] * table_cdf(r[h], kc, x)
    return total


@njit(cache=True)
def _mix_loss(r, w, kc, s):
    total = 0.0
    for h in range(w.shape[0]):
        if w[h] > 0.0:
            total += w[h] * table_loss(r[h], kc, s)
    return total


@njit(cache=True)
def _mix_loss_tails(r, w, kc, s, tails):
    total = 0.0
    for h in range(w.shape[0]):
        if w[h] > 0.0:
            total += w[h] * table_loss_tail(r[h], kc, s, tails[h])
    return total


@njit(cache=True)
def _mix_short(r, wa, wb, kc, s, sh, tails_b):
    # The expected shortage per cycle G_A(s) - G_B(s + c), B on the tails of _b_tails.
    return _mix_loss(r, wa, kc, s) - _mix_loss_tails(r, wb, kc, s + sh, tails_b)


@njit(cache=True)
def _b_tails(r, wa, wb, kc, tails_b):
    # The upper-tail slope each horizon of B takes in the shortage G_A(s) - G_B(s + c): its own
    # (kernels.quantiles.tail_slope), capped by that of every horizon of A at or beyond it.
    # The knots are sorted over the horizons, so A = D_{L+R} dominates B = D_L up to the top
    # knot, and G_A - G_B >= 0; each table's own tail could undo that beyond it. Whole-count
    # Poisson tables at 0.05 a day, R = 7, L = 8: D_8's knots ...0, 1, 1, 2 gave it a steeper
    # tail than D_15's ...1, 1, 2, 2, and G_A(2) - G_B(2) came out -0.036 (exactly +0.040).
    # A keeps its own tails (levels, means and cycle service read them), and so does B = A
    # (continuous review), whose shortage G_A(s) - G_A(s + Q) is never negative.
    same = True
    for h in range(r.shape[0]):
        if wa[h] != wb[h]:
            same = False
    b = math.inf
    for h in range(r.shape[0] - 1, -1, -1):
        if wa[h] > 0.0:
            b = min(b, tail_slope(r[h], kc))
        if wb[h] > 0.0:
            tails_b[h] = tail_slope(r[h], kc) if same else min(b, tail_slope(r[h], kc))


@njit(parallel=True, cache=True)
def _policy_quantiles_kernel(
    cum,
    levels,
    kc,
    w_a,
    w_b,
    shift,
    counted,
    service_level,
    service_type,
    level,
    mean,
    csl,
    fill,
    bad,
):
    n, nh, k = cum.shape
    for c in prange((n + CHUNK - 1) // CHUNK):
        r = np.empty((nh, k))
        t = np.empty(nh)
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            wa = w_a[i]
            wb = w_b[i]
            for h in range(nh):
                if wa[h] > 0.0 or wb[h] > 0.0:
                    repair_row(cum[i, h], r[h])
            _b_tails(r, wa, wb, kc, t)
            sh = shift[i]
            # Whole-count tables (every knot read, and the lot, a whole number: a count
            # forecast's quantiles): stock moves in whole units, so a level between two integers
            # acts as the integer below it. Left fractional, Poisson demand of mean 0.95 over the
            # lead time planned r = 1.28 for 80% cycle service, reported 80% and met 75% (as
            # r = 1); a 80% fill-rate row at 0.23 a day, L = 6, Q = 1 met 61%. The level is then
            # the smallest whole one that meets the target on the table, as for whole samples.
            whole = sh == math.floor(sh)
            # ``counted``: the caller knows the table is whole-count though the knots read are
            # not (a weekly count table read at 10 days: 3/7 of the way between two whole weeks).
            for h in range(nh):
                if (wa[h] > 0.0 or wb[h] > 0.0) and not counted[i]:
                    for j in range(k):
                        if r[h, j] != math.floor(r[h, j]):
                            whole = False
            mean_a = _mix_loss(r, wa, kc, 0.0)
            m, flat, none = _cycle_demand(mean_a, _mix_loss_tails(r, wb, kc, 0.0, t), sh)
            bad[i] = flat and not none and service_type[i] == FILL_RATE
            p = service_level[i]
            if service_type[i] == CYCLE:
                z = norm_ppf(p)
                lo = math.inf
                hi = 0.0
                n_used = 0
                for h in range(nh):
                    if wa[h] > 0.0:
                        x = table_ppf(r[h], levels, kc, p, z)
                        lo = min(lo, x)
                        hi = max(hi, x)
                        n_used += 1
                if n_used == 1 or hi <= lo:
                    s = hi
                else:
                    # The mixture's quantile lies between its components' quantiles.
                    for _ in range(_BISECT_ITERS):
                        mid = 0.5 * (lo + hi)
                        if _mix_cdf(r, wa, kc, mid) >= p:
                            hi = mid
                        else:
                            lo = mid
                        if hi - lo <= _REL_TOL * max(hi, 1.0):
                            break
                    s = hi
            elif flat:
                s = 0.0 if none else math.nan
            else:
                target = (1.0 - p) * m
                if _mix_short(r, wa, wb, kc, 0.0, sh, t) <= target:
                    s = 0.0
                else:
                    lo = 0.0
                    hi = 2.0 * mean_a + sh + 1.0
                    while _mix_short(r, wa, wb, kc, hi, sh, t) > target:
                        lo = hi
                        hi *= 2.0
                    for _ in range(_BISECT_ITERS):
                        mid = 0.5 * (lo + hi)
                        if _mix_short(r, wa, wb, kc, mid, sh, t) <= target:
                            hi = mid
                        else:
                            lo = mid
                        if hi - lo <= _REL_TOL * max(hi, 1.0):
                            break
                    s = hi
            if whole and s == s and s != math.floor(s):
                lower = math.floor(s)
                if service_type[i] == CYCLE:
                    ok = _mix_cdf(r, wa, kc, lower) >= p
                else:
                    # 1e-9 * m: the bisection's tolerance, which alone must not add a unit.
                    short_lower = _mix_short(r, wa, wb, kc, lower, sh, t)
                    ok = short_lower <= (1.0 - p) * m + 1e-9 * m
                s = lower if ok else lower + 1.0
            level[i] = s
            mean[i] = mean_a
            if s == s:
                csl[i] = _mix_cdf(r, wa, kc, s)
                short = _mix_short(r, wa, wb, kc, s, sh, t)
                fill[i] = _fill_of(short, m, none)
            else:  # a fill-rate row without demand per cycle: reported as an error
                csl[i] = math.nan
                fill[i] = math.nan


def policy_from_quantiles(
    cumulative,
    levels,
    weights_a,
    weights_b=None,
    *,
    shift=0.0,
    service_level,
    service_type=CYCLE,
    counted=None,
) -> dict[str, np.ndarray]:
    """Reorder levels from quantiles of cumulative demand, mixed over random lead times.

    ``cumulative`` (n_rows, H, K): for each row and horizon h = 1..H the quantiles (at ``levels``)
    of demand summed over steps 1..h. ``weights_a`` (n_rows, H + 1): probability that the
    protection interval is h = 0..H steps (P(L + R = h); h = 0 means no demand); A is the mixture
    sum_h w_h F_h -- quantiles are never added. ``weights_b``: the same for B = D_L in periodic
    review (``None``: B = A). See :func:`kernels.leadtime.horizon_weights`. ``counted``
    (n_rows,) bool, optional: rows whose table is whole-count though the knots read are not (a
    coarser table interpolated to days, as :func:`kernels.tables.plan` reads a weekly one);
    without it a row is whole-count when every knot read is a whole number. Whole-count rows
    (with a whole shift) are planned to the smallest whole level that meets the target on the
    table. Other arguments and the result as in :func:`policy_from_samples`.
    """
    levels = check_levels(levels)
    cum = v.as_float_array("cumulative", cumulative, ndim=3)
    n, nh, k = cum.shape
    if k != levels.shape[0]:
        raise ValueError(f"cumulative: has {k} quantiles per row but levels has {levels.shape[0]}")
    v.check_finite("cumulative", cum)
    wa = _check_weights("weights_a", weights_a, n, nh + 1)
    wb = wa if weights_b is None else _check_weights("weights_b", weights_b, n, nh + 1)
    sl, st, c = _check_policy_rows(n, service_level, service_type, shift)
    # Horizon 0 (no time, no demand) is an all-zero table, which the kernel handles like any other.
    padded = np.concatenate([np.zeros((n, 1, k)), cum], axis=1)
    counted = _counted_rows(counted, n)
    out = _policy_outputs(n)
    bad = np.zeros(n, dtype=np.bool_)
    _policy_quantiles_kernel(
        padded,
        levels,
        knot_constants(levels),
        wa,
        wb,
        c,
        counted,
        sl,
        st,
        out["level"],
        out["mean"],
        out["cycle_service"],
        out["fill_rate"],
        bad,
    )
    if bad.any():
        _raise_no_cycle_demand("weights_b", bad, weights_b is None)
    return out


def _check_weights(field, w, n, nh) -> np.ndarray:
    w = v.as_float_array(field, w, ndim=2)
    if w.shape != (n, nh):
        raise ValueError(f"{field}: expected shape {(n, nh)}, got {w.shape}")
    v.check_nonnegative(field, w)
    bad = np.abs(w.sum(axis=1) - 1.0) > 1e-6
    if bad.any():
        v.fail(field, "weights must sum to 1", bad)
    return w

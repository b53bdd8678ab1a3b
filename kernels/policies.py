"""Safety stock, reorder points and order-up-to levels, batched over SKU x location rows.

Every policy here picks a *reorder level* ``s`` for the demand over a protection interval and
reports the safety stock ``s - E[demand]``. Two service targets are supported per row:

* **cycle service** (type 1): ``P(A <= s) >= alpha``, i.e. ``s`` is the alpha-quantile of A;
* **fill rate** (type 2): the expected fraction of demand served from stock is ``beta``. The loss
  function ``G(s) = E[(X - s)+]`` gives the expected shortage per replenishment cycle
  ``G_A(s) - G_B(s + c)``, which is inverted numerically (bisection) for
  ``G_A(s) - G_B(s + c) = (1 - beta) * m`` with ``m = E[A] - E[B] + c`` the demand per cycle.

The pair (A, B) and the shift c select the policy:

* continuous review (r, Q): A = B = lead-time demand D_L, c = Q. Exact for continuous demand (or
  unit demands) with backorders and a fixed lead time: between two arrivals the backlog grows from
  (D_L - r - Q)+ to (D_L' - r)+. The rule is a true (r, Q) rule (see :func:`order_quantities`):
  at or below r, order the smallest multiple of Q that lifts the position above r, so it lands
  in (r, r + Q]. Ordering up to r + Q instead is an (s, S) rule, which these formulas do not
  describe once demand can undershoot r.
* periodic review (R, S): A = D_{L+R}, B = D_L, c = 0, m = E[D_{L+R}] - E[D_L] = mean demand per
  review period; exact for backorders and a fixed lead time.

A fill rate needs demand per cycle, ``m > 0``. A row with no demand at all (``E[A] = E[B] = 0``,
``c = 0``) gets level 0 and fill rate 1. Any other row with ``m <= 0`` (e.g. B given with a
larger mean than A) has no defined fill rate: a fill-rate row is an error
(:class:`NoCycleDemandError`, naming the B field -- or ``shift`` when B = A -- and the rows),
a cycle-service row gets its level and ``fill_rate`` NaN.

Levels are floored at zero (demand is non-negative, so a negative level never raises service).
Three representations of A and B share this logic: parametric shapes (normal, gamma, negative
binomial, fitted by moments), quantile tables of cumulative demand (see :mod:`kernels.quantiles`,
optionally mixed over random lead times) and samples (see :mod:`kernels.samples`).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

from . import validate as v
from ._special import (
    count_cdf_sf,
    count_loss,
    count_ppf,
    gamma_cdf_sf,
    gamma_loss,
    gamma_ppf,
    norm_cdf,
    norm_loss,
    norm_ppf,
)
from .quantiles import (
    knot_constants,
    repair_row,
    table_cdf,
    table_loss,
    table_mean,
    table_ppf,
    table_ppf_at,
    table_segment,
)
from .samples import (
    as_bits,
    cast_like,
    cornish_fisher_z,
    from_bits,
    lerp,
    order_stat_pair,
    pair_by_walk,
    quantile_index,
    sample_cdf,
    sample_loss,
    sample_quantile,
)

CYCLE = 0
FILL_RATE = 1
SERVICE_TYPES = {"cycle": CYCLE, "fill_rate": FILL_RATE}

NORMAL = 0
GAMMA = 1
NEGBIN = 2
SHAPES = {"normal": NORMAL, "gamma": GAMMA, "negbin": NEGBIN}

_CHUNK = 1024
# Reassociation lets LLVM vectorize the per-row sums. No nnan/ninf: infinities are used as
# sentinels, and NaN/inf in the data are detected on the bit patterns (fast-math float tests may
# be folded away).
_FAST_SUM = {"reassoc", "contract", "nsz", "arcp"}
_BISECT_ITERS = 200
_REL_TOL = 1e-12


def _n_chunks(n: int) -> int:
    return (n + _CHUNK - 1) // _CHUNK


def _raise_bad_rows(field, problem, bad_chunks, row_ok):
    # The kernels record only the first bad row of each chunk; recompute the full list here.
    starts = [int(c) * _CHUNK for c in np.flatnonzero(bad_chunks >= 0)]
    rows = []
    for s in starts:
        rows.extend(s + np.flatnonzero(~row_ok(slice(s, s + _CHUNK))))
    v.fail(field, problem, np.asarray(rows, dtype=np.int64))


# ---------------------------------------------------------------------------------------------
# Cycle service from samples and from quantile tables: the lean batched kernels.
# ---------------------------------------------------------------------------------------------


_LEVEL_CACHE = 8


@register_jitable
def _find_level(cache_p, p):
    # A full scan without an early exit: rows alternate between levels, and an exit that moves
    # with them would be mispredicted most of the time.
    slot = -1
    for j in range(cache_p.shape[0]):
        slot = j if cache_p[j] == p else slot
    return slot


# A walk from a good guess needs about two passes; one that needs more than this many is cut
# short and the row is selected by partitioning instead.
_MAX_WALK = 8


@njit(cache=True)
def _store_level(i, a, b, frac, mean, ss, rop):
    # No fast-math here: the interpolation must round exactly as np.quantile does.
    level = lerp(np.float64(a), np.float64(b), frac)  # float() keeps float32 in Numba
    rop[i] = level
    ss[i] = level - mean


@register_jitable(inline="always")
def _walk_row(samples, bits, i, k, frac, guess, mean, small, big, buf, ss, rop):
    # Second stage for one row: the two order statistics around the service level, then the
    # reorder point and the safety stock. Inlined: a call per row costs a tenth of the time.
    ok, a_bits, b_bits = pair_by_walk(bits[i], k, guess, small, big, _MAX_WALK)
    if ok:
        a = from_bits(cast_like(small, a_bits))
        b = from_bits(cast_like(small, b_bits))
        _store_level(i, a, b, frac, mean, ss, rop)
    else:
        a32, b32 = order_stat_pair(samples[i], k, buf)
        _store_level(i, a32, b32, frac, mean, ss, rop)


@njit(parallel=True, cache=True, fastmath=_FAST_SUM)
def _ss_samples_kernel(samples, bits, service_level, ss, rop, bad):
    n, s = samples.shape
    small = cast_like(bits[0, 0], -1)  # below every non-negative pattern
    big = as_bits(cast_like(samples[0, 0], math.inf))  # above every finite sample
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        buf = np.empty(s, dtype=samples.dtype)
        first_bad = -1
        # Per-level constants (rank, interpolation weight, normal score), cached for the few
        # distinct service levels that segment targets produce.
        cache_p = np.full(_LEVEL_CACHE, -1.0)
        cache_k = np.zeros(_LEVEL_CACHE, dtype=np.int64)
        cache_v = np.zeros((_LEVEL_CACHE, 2))
        victim = 0
        # Software pipeline: row i's moments and guess are computed before row i - 1's walk, so
        # the CPU overlaps this throughput-bound pass with that latency-bound chain.
        pending = -1
        p_k, p_frac, p_guess, p_mean = 0, 0.0, small, 0.0
        stop = min(n, (c + 1) * _CHUNK)
        for i in range(c * _CHUNK, stop + 1):
            ready = -1
            r_k, r_frac, r_guess, r_mean = 0, 0.0, small, 0.0
            if i < stop:
                row = samples[i]
                row_bits = bits[i]
                x0 = row[0]
                total = 0.0
                # Shape moments (for the guess only) about the first sample, in the row's own
                # precision: half the vector work of float64, and the shift limits cancellation.
                total_sq = x0 - x0
                total_cu = x0 - x0
                odd = 0
                for j in range(s):
                    x = row[j]
                    total += np.float64(x)
                    d = x - x0
                    d2 = d * d
                    total_sq += d2
                    total_cu += d2 * d
                    # Sign bit set (negative, -0.0) or not finite, tested on the bit patterns:
                    # fast-math float tests may be folded away.
                    odd += (row_bits[j] < 0) | (row_bits[j] >= big)
                mean = total / s
                signed = odd > 0
                if signed and not (np.all(np.isfinite(row)) and np.all(row >= 0.0)):
                    if first_bad < 0:
                        first_bad = i
                    ss[i] = math.nan
                    rop[i] = math.nan
                elif s == 1:
                    rop[i] = mean
                    ss[i] = 0.0
                else:
                    p = service_level[i]
                    slot = _find_level(cache_p, p)
                    if slot < 0:
                        slot = victim
                        victim = (victim + 1) % _LEVEL_CACHE
                        kk, ff = quantile_index(s, p)
                        cache_p[slot] = p
                        cache_k[slot] = kk
                        cache_v[slot, 0] = ff
                        # Normal score of the middle of ranks k and k + 1.
                        cache_v[slot, 1] = norm_ppf((kk + 1.0) / s)
                    if signed:
                        # -0.0 samples break the bit-pattern order: select by partitioning.
                        a32, b32 = order_stat_pair(row, cache_k[slot], buf)
                        _store_level(i, a32, b32, cache_v[slot, 0], mean, ss, rop)
                    else:
                        shift = mean - x0
                        m2 = total_sq / s
                        var = max(m2 - shift * shift, 0.0)
                        z = cache_v[slot, 1]
                        if var > 0.0:
                            sd = math.sqrt(var)
                            third = total_cu / s - 3.0 * shift * m2 + 2.0 * shift * shift * shift
                            z = cornish_fisher_z(z, third / (var * sd))
                            guess = mean + sd * z
                        else:
                            guess = mean
                        if not guess > 0.0:  # also NaN from overflowing moments
                            guess = 0.0
                        ready = i
                        r_k, r_frac, r_mean = cache_k[slot], cache_v[slot, 0], mean
                        r_guess = as_bits(cast_like(x0, guess))
            if pending >= 0:
                _walk_row(samples, bits, pending, p_k, p_frac, p_guess, p_mean, small, big, buf,
                          ss, rop)  # fmt: skip
            pending, p_k, p_frac, p_guess, p_mean = ready, r_k, r_frac, r_guess, r_mean
        bad[c] = first_bad


_BITS = {np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}


def safety_stock_from_samples(samples, service_level) -> tuple[np.ndarray, np.ndarray]:
    """Safety stock and reorder point at a cycle service level from demand samples.

    ``samples`` (n_rows, n_samples), float32 or float64: equally likely draws of demand over the
    protection interval of each row (build them with
    :func:`kernels.leadtime.lead_time_demand_samples`; never by adding quantiles).
    ``service_level`` scalar or (n_rows,), in (0, 1). The reorder point is NumPy's linear
    quantile of the row at the service level and the safety stock is that minus the sample mean.
    Returns float64 ``(safety_stock, reorder_point)``.

    The two order statistics are found without sorting: the row's mean, standard deviation and
    skewness place a first threshold (a Cornish-Fisher quantile), and vectorized passes over the
    samples' bit patterns step from there to ranks k and k + 1 exactly
    (:func:`kernels.samples.pair_by_walk`); rows that resist fall back to partitioning. The
    result equals ``np.quantile`` (linear method) to rounding.
    """
    samples = np.asarray(samples)
    if samples.dtype not in (np.float32, np.float64):
        samples = v.as_float_array("samples", samples)
    samples = np.ascontiguousarray(samples)
    if samples.ndim != 2 or samples.shape[1] == 0:
        raise ValueError(f"samples: expected shape (n_rows, n_samples), got {samples.shape}")
    n = samples.shape[0]
    sl = v.broadcast_rows("service_level", service_level, n)
    v.check_open_unit("service_level", sl)
    ss = np.empty(n)
    rop = np.empty(n)
    bad = np.empty(_n_chunks(n), dtype=np.int64)
    if n == 0:
        return ss, rop
    _ss_samples_kernel(samples, samples.view(_BITS[samples.dtype]), sl, ss, rop, bad)
    if (bad >= 0).any():
        _raise_bad_rows(
            "samples",
            "missing, non-finite or negative demand",
            bad,
            lambda sl_: np.isfinite(samples[sl_]).all(axis=1) & (samples[sl_] >= 0).all(axis=1),
        )
    return ss, rop


@njit(parallel=True, cache=True)
def _ss_quantiles_kernel(q, levels, kc, service_level, ss, rop, bad):
    n, k = q.shape
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        r = np.empty(k)
        first_bad = -1
        # Normal score and segment of the few distinct service levels that segment targets
        # produce (a search per row would mispredict as the levels alternate).
        cache_p = np.full(_LEVEL_CACHE, -1.0)
        cache_z = np.zeros(_LEVEL_CACHE)
        cache_seg = np.zeros((_LEVEL_CACHE, 3), dtype=np.int64)
        victim = 0
        for i in range(c * _CHUNK, min(n, (c + 1) * _CHUNK)):
            row = q[i]
            ok = True
            for j in range(k):
                if not math.isfinite(row[j]):
                    ok = False
            if not ok:
                if first_bad < 0:
                    first_bad = i
                ss[i] = math.nan
                rop[i] = math.nan
                continue
            repair_row(row, r)
            p = service_level[i]
            slot = _find_level(cache_p, p)
            if slot < 0:
                slot = victim
                victim = (victim + 1) % _LEVEL_CACHE
                cache_p[slot] = p
                cache_z[slot] = norm_ppf(p)
                segment, anchor = table_segment(levels, p)
                cache_seg[slot, 0] = segment
                cache_seg[slot, 1] = anchor
                cache_seg[slot, 2] = p <= levels[0]
            seg = cache_seg[slot]
            level = table_ppf_at(r, kc, seg[0], seg[1], cache_z[slot], seg[2] > 0)
            rop[i] = level
            ss[i] = level - table_mean(r, kc)
        bad[c] = first_bad


def _check_levels(levels) -> np.ndarray:
    levels = v.as_float_array("levels", levels, ndim=1)
    if levels.shape[0] < 2:
        raise ValueError("levels: need at least two quantile levels")
    v.check_open_unit("levels", levels)
    if not (np.diff(levels) > 0).all():
        raise ValueError(f"levels: must be strictly increasing, got {levels.tolist()}")
    return levels


def safety_stock_from_quantiles(quantiles, levels, service_level) -> tuple[np.ndarray, np.ndarray]:
    """Safety stock and reorder point at a cycle service level from cumulative-demand quantiles.

    ``quantiles`` (n_rows, K) float32/float64: quantiles of demand summed over the protection
    interval at ``levels`` (K,), strictly increasing in (0, 1). Values are repaired (clipped at 0,
    sorted), interpolated linearly in the normal score and extended with normal tails (see
    :mod:`kernels.quantiles`). The safety stock is the reorder point minus the mean of that
    distribution. Returns float64 ``(safety_stock, reorder_point)``.
    """
    q = np.asarray(quantiles)
    if q.dtype not in (np.float32, np.float64):
        q = v.as_float_array("quantiles", q)
    q = np.ascontiguousarray(q)
    levels = _check_levels(levels)
    if q.ndim != 2 or q.shape[1] != levels.shape[0]:
        raise ValueError(
            f"quantiles: expected shape (n_rows, {levels.shape[0]}) to match levels, got {q.shape}"
        )
    n = q.shape[0]
    sl = v.broadcast_rows("service_level", service_level, n)
    v.check_open_unit("service_level", sl)
    ss = np.empty(n)
    rop = np.empty(n)
    bad = np.empty(_n_chunks(n), dtype=np.int64)
    _ss_quantiles_kernel(q, levels, knot_constants(levels), sl, ss, rop, bad)
    if (bad >= 0).any():
        _raise_bad_rows(
            "quantiles",
            "missing or non-finite value",
            bad,
            lambda sl_: np.isfinite(q[sl_]).all(axis=1),
        )
    return ss, rop


@njit(parallel=True, cache=True)
def _mean_quantiles_kernel(q, kc, out):
    n, k = q.shape
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        r = np.empty(k)
        for i in range(c * _CHUNK, min(n, (c + 1) * _CHUNK)):
            repair_row(q[i], r)
            out[i] = table_mean(r, kc)


def mean_from_quantiles(quantiles, levels) -> np.ndarray:
    """Mean of each row's distribution under the interpolation and tail rule of the tables."""
    levels = _check_levels(levels)
    q = v.as_float_array("quantiles", quantiles, ndim=2)
    if q.shape[1] != levels.shape[0]:
        raise ValueError(f"quantiles: expected {levels.shape[0]} columns, got {q.shape[1]}")
    v.check_finite("quantiles", q)
    out = np.empty(q.shape[0])
    _mean_quantiles_kernel(q, knot_constants(levels), out)
    return out


# ---------------------------------------------------------------------------------------------
# General policies: cycle service or fill rate, continuous or periodic review.
# ---------------------------------------------------------------------------------------------


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
def _policy_samples_kernel(a, b, shift, service_level, service_type, level, mean, csl, fill, bad):
    n, ns = a.shape
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        buf = np.empty(ns, dtype=a.dtype)
        for i in range(c * _CHUNK, min(n, (c + 1) * _CHUNK)):
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
            if service_type[i] == CYCLE:
                s = sample_quantile(ra, service_level[i], buf)
            elif flat:
                s = 0.0 if none else math.nan
            else:
                target = (1.0 - service_level[i]) * m
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
    a, b=None, *, shift=0.0, service_level, service_type=CYCLE
) -> dict[str, np.ndarray]:
    """Reorder levels from demand samples, cycle service or fill rate, per row.

    ``a`` (n_rows, n_samples): samples of demand over the protection interval (D_L for continuous
    review, D_{L+R} for periodic review). ``b`` (n_rows, n_samples_b): samples of D_L for periodic
    review, drawn on the same paths as ``a``; ``None`` means ``b = a`` (continuous review).
    ``shift``: the lot size Q for continuous review, 0 for periodic review.
    ``service_type``: 0/``CYCLE`` or 1/``FILL_RATE`` per row.

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
    out = _policy_outputs(n)
    bad = np.zeros(n, dtype=np.bool_)
    _policy_samples_kernel(
        a, b, c, sl, st, out["level"], out["mean"], out["cycle_service"], out["fill_rate"], bad
    )
    if bad.any():
        _raise_no_cycle_demand("b", bad, b is a)
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


# --- parametric shapes -----------------------------------------------------------------------


@register_jitable(inline="always")
def _dist_args_bad(x, mu, sd):
    # NaN anywhere, or a negative standard deviation: no distribution to evaluate.
    return not sd >= 0.0 or mu != mu or x != x


# The dist_* functions are compiled helpers for the kernels: they cannot raise per row, so they
# return NaN for a NaN argument or a negative standard deviation (never a plausible number). The
# Python entry points (policy_parametric, newsvendor_quantity) reject such rows by name first.


@njit(cache=True)
def dist_ppf(shape, p, mu, sd):
    """Quantile of the moment-fitted shape (normal, gamma, negative binomial) with mean/std.

    NaN for a NaN argument or a negative ``sd``."""
    if _dist_args_bad(p, mu, sd):
        return math.nan
    if sd == 0.0:
        return mu
    if shape == NORMAL:
        return mu + sd * norm_ppf(p)
    if shape == GAMMA:
        if mu <= 0.0:
            return 0.0
        return gamma_ppf(p, (mu / sd) ** 2, sd * sd / mu)
    return count_ppf(p, mu, sd * sd)


@njit(cache=True)
def dist_cdf(shape, x, mu, sd):
    """CDF of the moment-fitted shape at x (NaN for a NaN argument or a negative ``sd``)."""
    if _dist_args_bad(x, mu, sd):
        return math.nan
    if sd == 0.0:
        return 1.0 if x >= mu else 0.0
    if shape == NORMAL:
        return norm_cdf((x - mu) / sd)
    if shape == GAMMA:
        if mu <= 0.0:
            return 1.0 if x >= 0.0 else 0.0
        return gamma_cdf_sf(x, (mu / sd) ** 2, sd * sd / mu)[0]
    return count_cdf_sf(math.floor(x), mu, sd * sd)[0]


@njit(cache=True)
def dist_loss(shape, s, mu, sd):
    """First-order loss E[(X - s)+] of the moment-fitted shape.

    NaN for a NaN argument or a negative ``sd``."""
    if _dist_args_bad(s, mu, sd):
        return math.nan
    if sd == 0.0:
        return max(mu - s, 0.0)
    if shape == NORMAL:
        return sd * norm_loss((s - mu) / sd)
    if shape == GAMMA:
        if mu <= 0.0:
            return max(-s, 0.0)
        return gamma_loss(s, (mu / sd) ** 2, sd * sd / mu)
    return count_loss(s, mu, sd * sd)


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


@njit(parallel=True, cache=True)
def _policy_quantiles_kernel(
    cum, levels, kc, w_a, w_b, shift, service_level, service_type, level, mean, csl, fill, bad
):
    n, nh, k = cum.shape
    for c in prange((n + _CHUNK - 1) // _CHUNK):
        r = np.empty((nh, k))
        for i in range(c * _CHUNK, min(n, (c + 1) * _CHUNK)):
            wa = w_a[i]
            wb = w_b[i]
            for h in range(nh):
                if wa[h] > 0.0 or wb[h] > 0.0:
                    repair_row(cum[i, h], r[h])
            sh = shift[i]
            mean_a = _mix_loss(r, wa, kc, 0.0)
            m, flat, none = _cycle_demand(mean_a, _mix_loss(r, wb, kc, 0.0), sh)
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
                if _mix_loss(r, wa, kc, 0.0) - _mix_loss(r, wb, kc, sh) <= target:
                    s = 0.0
                else:
                    lo = 0.0
                    hi = 2.0 * mean_a + sh + 1.0
                    while _mix_loss(r, wa, kc, hi) - _mix_loss(r, wb, kc, hi + sh) > target:
                        lo = hi
                        hi *= 2.0
                    for _ in range(_BISECT_ITERS):
                        mid = 0.5 * (lo + hi)
                        if _mix_loss(r, wa, kc, mid) - _mix_loss(r, wb, kc, mid + sh) <= target:
                            hi = mid
                        else:
                            lo = mid
                        if hi - lo <= _REL_TOL * max(hi, 1.0):
                            break
                    s = hi
            level[i] = s
            mean[i] = mean_a
            if s == s:
                csl[i] = _mix_cdf(r, wa, kc, s)
                short = _mix_loss(r, wa, kc, s) - _mix_loss(r, wb, kc, s + sh)
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
) -> dict[str, np.ndarray]:
    """Reorder levels from quantiles of cumulative demand, mixed over random lead times.

    ``cumulative`` (n_rows, H, K): for each row and horizon h = 1..H the quantiles (at ``levels``)
    of demand summed over steps 1..h. ``weights_a`` (n_rows, H + 1): probability that the
    protection interval is h = 0..H steps (P(L + R = h); h = 0 means no demand); A is the mixture
    sum_h w_h F_h -- quantiles are never added. ``weights_b``: the same for B = D_L in periodic
    review (``None``: B = A). See :func:`kernels.leadtime.horizon_weights`. Other arguments and
    the result as in :func:`policy_from_samples`.
    """
    levels = _check_levels(levels)
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
    out = _policy_outputs(n)
    bad = np.zeros(n, dtype=np.bool_)
    _policy_quantiles_kernel(
        padded,
        levels,
        knot_constants(levels),
        wa,
        wb,
        c,
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


# ---------------------------------------------------------------------------------------------
# Critical ratio and order quantities.
# ---------------------------------------------------------------------------------------------


def critical_ratio(underage_cost, overage_cost) -> np.ndarray:
    """Newsvendor critical ratio cu / (cu + co): the cost-optimal cycle service level.

    For replenishment, cu is the margin lost on a stock-out and co the cost of carrying one unit
    left over for a review cycle (holding cost per period x review period). Scalars or 1-d
    arrays of one common length (a scalar applies to every row); costs finite and >= 0, not both 0.
    """
    cu = np.atleast_1d(v.as_float_array("underage_cost", underage_cost))
    co = np.atleast_1d(v.as_float_array("overage_cost", overage_cost))
    for field, arr in (("underage_cost", cu), ("overage_cost", co)):
        if arr.ndim != 1:
            raise ValueError(f"{field}: expected a scalar or 1-d array, got shape {arr.shape}")
    n = max(cu.shape[0], co.shape[0])
    if cu.shape[0] == 1:
        cu = np.full(n, cu[0])
    if co.shape[0] == 1:
        co = np.full(n, co[0])
    v.check_length("underage_cost", cu, n)
    v.check_length("overage_cost", co, n)
    v.check_nonnegative("underage_cost", cu)
    v.check_nonnegative("overage_cost", co)
    total = cu + co
    bad = total <= 0
    if bad.any():
        v.fail("underage_cost", "underage + overage cost must be > 0", bad)
    return cu / total


def newsvendor_quantity(
    samples=None, *, mean=None, std=None, underage_cost, overage_cost, shape="normal"
):
    """Single-period order quantity F^-1(cu / (cu + co)) from samples or a moment-fitted shape.

    ``samples`` (n_rows, n_samples), or ``mean`` (n_rows,) and ``std`` (scalar or n_rows);
    ``underage_cost``/``overage_cost`` scalars or n_rows. A row without underage cost orders
    nothing (ratio 0); a row whose overage cost is 0 (or negligible next to its underage cost,
    so the ratio rounds to 1) has no finite optimum and is an error naming ``overage_cost``.
    """
    if samples is not None:
        x = np.asarray(samples)
        if x.ndim != 2:
            raise ValueError(f"samples: expected shape (n_rows, n_samples), got {x.shape}")
        n = x.shape[0]
    elif mean is None or std is None:
        raise ValueError("newsvendor_quantity: give samples, or mean and std")
    else:
        mean = v.as_float_array("mean", np.atleast_1d(mean), ndim=1)
        n = mean.shape[0]
        std = v.broadcast_rows("std", std, n)
        v.check_nonnegative("mean", mean)
        v.check_nonnegative("std", std)
    ratio = critical_ratio(
        v.broadcast_rows("underage_cost", underage_cost, n),
        v.broadcast_rows("overage_cost", overage_cost, n),
    )
    bad = ratio >= 1.0
    if bad.any():
        v.fail("overage_cost", "0 or negligible: the critical ratio is 1, no finite quantity", bad)
    some = ratio > 0.0  # ratio 0: no underage cost, order nothing
    q = np.zeros(n)
    if samples is not None:
        q[some] = safety_stock_from_samples(x[some], ratio[some])[1]
    else:
        q[some] = policy_parametric(mean[some], std[some], service_level=ratio[some], shape=shape)[
            "level"
        ]
    return q


RULE_RQ = 0
RULE_SS = 1
RULE_RS = 2
ORDER_RULES = {"rQ": RULE_RQ, "sS": RULE_SS, "RS": RULE_RS}


def round_lot_size(lot_size, case_pack=1.0, moq=0.0) -> np.ndarray:
    """A lot size Q fit for (r, Q) ordering: at least the MOQ, rounded up to whole case packs.

    Every (r, Q) order is a multiple of Q, so rounding Q (not each order) is what keeps every
    order a whole number of case packs and at least the MOQ. Returns float64, at least one pack.
    """
    q = v.as_float_array("lot_size", np.atleast_1d(lot_size))
    n = q.shape[0]
    pack = v.broadcast_rows("case_pack", case_pack, n)
    mo = v.broadcast_rows("moq", moq, n)
    v.check_nonnegative("lot_size", q)
    v.check_positive("case_pack", pack)
    v.check_nonnegative("moq", mo)
    q = np.maximum(q, mo)
    # The tolerance keeps an exact multiple (up to float noise) from rounding up a pack.
    return np.maximum(np.ceil(q / pack - 1e-9) * pack, pack)


@njit(parallel=True, cache=True)
def _order_kernel(rule, reorder_point, order_up_to, lot, position, case_pack, moq, qty):
    for i in prange(rule.shape[0]):
        ip = position[i]
        r = reorder_point[i]
        if rule[i] == RULE_RQ:
            if ip > r:
                qty[i] = 0.0
                continue
            # The smallest n >= 1 with ip + n Q > r, checked in the arithmetic the caller sees.
            q = lot[i]
            n = math.floor((r - ip) / q) + 1.0
            while ip + n * q <= r:
                n += 1.0
            while n > 1.0 and ip + (n - 1.0) * q > r:
                n -= 1.0
            qty[i] = n * q
            continue
        s_up = order_up_to[i]
        trigger = ip < s_up if rule[i] == RULE_RS else ip <= r
        if not trigger:
            qty[i] = 0.0
            continue
        need = max(s_up - ip, moq[i], 0.0)
        pack = case_pack[i]
        # The tolerance keeps an exact multiple (up to float noise) from rounding up a pack.
        qty[i] = math.ceil(need / pack - 1e-9) * pack if need > 0.0 else 0.0


def _rule_codes(rule, n) -> np.ndarray:
    arr = np.asarray(rule)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n):
        raise ValueError(f"rule: expected a scalar or {n} values, got shape {arr.shape}")
    arr = np.broadcast_to(arr, (n,))
    if arr.dtype.kind in "iu":
        codes = arr.astype(np.int64)
        bad = ~np.isin(codes, list(ORDER_RULES.values()))
    else:
        names, inverse = np.unique(arr.astype(str), return_inverse=True)
        table = np.array([ORDER_RULES.get(x, -1) for x in names], dtype=np.int64)
        codes = table[inverse] if n else np.zeros(0, dtype=np.int64)
        bad = codes < 0
    if bad.any():
        v.fail("rule", f"must be one of {', '.join(ORDER_RULES)}", bad)
    return np.ascontiguousarray(codes, dtype=np.int8)


def order_quantities(
    inventory_position,
    *,
    rule,
    reorder_point=None,
    order_up_to=None,
    lot_size=None,
    case_pack=1.0,
    moq=0.0,
) -> np.ndarray:
    """Order quantity per row from the inventory position (on hand + on order - backorders).

    ``rule`` (a name or one per row) says how a row orders:

    * ``"rQ"`` -- continuous review (r, Q), the rule the fill-rate and cycle-service formulas of
      this module assume: when the position is at or below ``reorder_point`` r, order the
      smallest multiple n Q of ``lot_size`` Q that lifts it above r, so it lands in (r, r + Q].
      Q must be a whole number of ``case_pack`` and at least ``moq`` (see
      :func:`round_lot_size`), so every order is too; a Q that is not is an error.
    * ``"sS"`` -- continuous review (s, S): at or below ``reorder_point`` s, order up to
      ``order_up_to`` S (at least ``moq``, rounded up to whole case packs).
    * ``"RS"`` -- periodic review (R, S), at a review: below ``order_up_to`` S, order up to S
      (at least ``moq``, rounded up to whole case packs).

    Each row needs only its rule's levels (NaN or ``None`` elsewhere). Returns float64
    quantities (0 where no order is due); errors name the field and the rows.
    """
    ip = v.as_float_array("inventory_position", np.atleast_1d(inventory_position), ndim=1)
    n = ip.shape[0]
    code = _rule_codes(rule, n)
    nan = np.nan

    def levels(field, values):
        return v.broadcast_rows(field, nan if values is None else values, n)

    r = levels("reorder_point", reorder_point)
    s = levels("order_up_to", order_up_to)
    q = levels("lot_size", lot_size)
    pack = v.broadcast_rows("case_pack", case_pack, n)
    mo = v.broadcast_rows("moq", moq, n)
    v.check_finite("inventory_position", ip)
    v.check_positive("case_pack", pack)
    v.check_nonnegative("moq", mo)
    rq, ss, rs = code == RULE_RQ, code == RULE_SS, code == RULE_RS
    v.check_finite("reorder_point", np.where(rq | ss, r, 0.0))
    v.check_finite("order_up_to", np.where(ss | rs, s, 0.0))
    v.check_positive("lot_size", np.where(rq, q, 1.0))
    packs = q / pack
    bad = rq & ((np.abs(packs - np.round(packs)) > 1e-9 * np.maximum(packs, 1.0)) | (q < mo))
    if bad.any():
        v.fail(
            "lot_size",
            "an (r, Q) lot size must be a whole number of case packs and at least the MOQ "
            "(see round_lot_size)",
            bad,
        )
    bad = ss & (s < r)
    if bad.any():
        v.fail("order_up_to", "below the reorder point", bad)
    qty = np.empty(n)
    _order_kernel(code, r, s, q, ip, pack, mo, qty)
    return qty

"""Cycle service levels from demand samples or cumulative-demand quantiles: the batched kernels.

The hot paths of planning: one reorder point and safety stock per row at a cycle service level,
for millions of rows (see :func:`safety_stock_from_samples`, :func:`safety_stock_from_quantiles`).
Fill rates, periodic review and random lead times mixed over quantile tables are in
:mod:`kernels.policies.general`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

from .. import validate as v
from .._special import norm_ppf
from ..quantiles import knot_constants, repair_row, table_mean, table_ppf_at, table_segment
from ..samples import (
    as_bits,
    cast_like,
    cornish_fisher_z,
    from_bits,
    lerp,
    order_stat_pair,
    pair_by_walk,
    quantile_index,
)
from ._common import CHUNK, check_levels, n_chunks

# Reassociation lets LLVM vectorize the per-row sums. No nnan/ninf: infinities are used as
# sentinels, and NaN/inf in the data are detected on the bit patterns (fast-math float tests may
# be folded away).
_FAST_SUM = {"reassoc", "contract", "nsz", "arcp"}


def _raise_bad_rows(field, problem, bad_chunks, row_ok):
    # The kernels record only the first bad row of each chunk; recompute the full list here.
    starts = [int(c) * CHUNK for c in np.flatnonzero(bad_chunks >= 0)]
    rows = []
    for s in starts:
        rows.extend(s + np.flatnonzero(~row_ok(slice(s, s + CHUNK))))
    v.fail(field, problem, np.asarray(rows, dtype=np.int64))


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
    # No fast-math here: the interpolation follows np.quantile's formula (LLVM may still fuse
    # its multiply-add, so about 1-3% of rows differ from np.quantile in the last bit).
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
    for c in prange((n + CHUNK - 1) // CHUNK):
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
        stop = min(n, (c + 1) * CHUNK)
        for i in range(c * CHUNK, stop + 1):
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
    bad = np.empty(n_chunks(n), dtype=np.int64)
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
    for c in prange((n + CHUNK - 1) // CHUNK):
        r = np.empty(k)
        first_bad = -1
        # Normal score and segment of the few distinct service levels that segment targets
        # produce (a search per row would mispredict as the levels alternate).
        cache_p = np.full(_LEVEL_CACHE, -1.0)
        cache_z = np.zeros(_LEVEL_CACHE)
        cache_seg = np.zeros((_LEVEL_CACHE, 3), dtype=np.int64)
        victim = 0
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
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
    levels = check_levels(levels)
    if q.ndim != 2 or q.shape[1] != levels.shape[0]:
        raise ValueError(
            f"quantiles: expected shape (n_rows, {levels.shape[0]}) to match levels, got {q.shape}"
        )
    n = q.shape[0]
    sl = v.broadcast_rows("service_level", service_level, n)
    v.check_open_unit("service_level", sl)
    ss = np.empty(n)
    rop = np.empty(n)
    bad = np.empty(n_chunks(n), dtype=np.int64)
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
    for c in prange((n + CHUNK - 1) // CHUNK):
        r = np.empty(k)
        for i in range(c * CHUNK, min(n, (c + 1) * CHUNK)):
            repair_row(q[i], r)
            out[i] = table_mean(r, kc)


def mean_from_quantiles(quantiles, levels) -> np.ndarray:
    """Mean of each row's distribution under the interpolation and tail rule of the tables."""
    levels = check_levels(levels)
    q = v.as_float_array("quantiles", quantiles, ndim=2)
    if q.shape[1] != levels.shape[0]:
        raise ValueError(f"quantiles: expected {levels.shape[0]} columns, got {q.shape[1]}")
    v.check_finite("quantiles", q)
    out = np.empty(q.shape[0])
    _mean_quantiles_kernel(q, knot_constants(levels), out)
    return out

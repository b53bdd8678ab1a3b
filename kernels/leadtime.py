"""Demand over the protection interval (lead time L, plus review period R) from three inputs.

* **Parametric**: daily demand mean d and std sd, lead time mean L and std sL:
  ``E = d (L + R)``, ``Var = (L + R) sd^2 + d^2 sL^2`` (so the safety stock is
  ``z sqrt(L sd^2 + d^2 sL^2)`` for continuous review with a normal shape). ``kernels.plan``
  passes the variance of the lead time read on whole days (:func:`day_split_variance`).
* **Sample paths**: per path, draw a lead time and sum that many daily demands of the same path
  (a fractional last day counts pro rata). Quantiles are never added.
* **Cumulative quantiles**: a table per horizon h of the quantiles of demand over steps 1..h; a
  random lead time makes the protection-interval demand the mixture sum_h P(L + R = h) F_h.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from scipy import special, stats

from . import validate as v


def lead_time_demand_moments(
    demand_mean, demand_std, lead_time_mean, lead_time_std=0.0, review_period=0.0
) -> dict[str, np.ndarray]:
    """Mean and std of demand over L (``mean_l``/``std_l``) and over L + R (``mean_p``/``std_p``).

    All arguments are per-period (e.g. per day) and broadcast over rows; demand over disjoint
    periods is independent and independent of the lead time.
    """
    d = v.as_float_array("demand_mean", demand_mean)
    n = d.shape[0] if d.ndim else 1
    d = v.broadcast_rows("demand_mean", demand_mean, n)
    sd = v.broadcast_rows("demand_std", demand_std, n)
    lt = v.broadcast_rows("lead_time_mean", lead_time_mean, n)
    slt = v.broadcast_rows("lead_time_std", lead_time_std, n)
    r = v.broadcast_rows("review_period", review_period, n)
    for name, arr in (
        ("demand_mean", d),
        ("demand_std", sd),
        ("lead_time_mean", lt),
        ("lead_time_std", slt),
        ("review_period", r),
    ):
        v.check_nonnegative(name, arr)
    var_l = lt * sd**2 + d**2 * slt**2
    var_p = (lt + r) * sd**2 + d**2 * slt**2
    return {
        "mean_l": d * lt,
        "std_l": np.sqrt(var_l),
        "mean_p": d * (lt + r),
        "std_p": np.sqrt(var_p),
    }


@njit(cache=True)
def _partial_sum(path, t):
    # Demand over [0, t) days of one path: whole days plus the pro-rata part of the next.
    whole = int(math.floor(t))
    total = 0.0
    for j in range(whole):
        total += path[j]
    frac = t - whole
    if frac > 0.0:
        total += frac * path[whole]
    return total


@njit(parallel=True, cache=True)
def _ltd_samples_kernel(paths, lead_times, review, a, b):
    n, n_paths, _ = paths.shape
    for i in prange(n):
        for p in range(n_paths):
            lt = lead_times[i, p]
            b[i, p] = _partial_sum(paths[i, p], lt)
            a[i, p] = _partial_sum(paths[i, p], lt + review[i])


def lead_time_demand_samples(paths, lead_times, review_period=0.0) -> tuple[np.ndarray, np.ndarray]:
    """Samples of protection-interval demand from daily demand sample paths and random lead times.

    ``paths`` (n_rows, n_paths, H): daily demand, one path per sample; ``lead_times``
    (n_rows, n_paths): the lead time drawn for each path, in days (fractional allowed);
    ``review_period`` scalar or (n_rows,). Path p contributes ``sum(paths[i, p, :L_p + R])``
    (pro rata for a fractional last day). Returns ``(a, b)``, both (n_rows, n_paths) float64:
    demand over L + R and over L on the same paths (a = b when R = 0).
    """
    paths = v.as_float_array("paths", paths, ndim=3)
    n, n_paths, horizon = paths.shape
    lts = v.as_float_array("lead_times", lead_times, ndim=2)
    if lts.shape != (n, n_paths):
        raise ValueError(f"lead_times: expected shape {(n, n_paths)}, got {lts.shape}")
    r = v.broadcast_rows("review_period", review_period, n)
    v.check_nonnegative("paths", paths)
    v.check_nonnegative("lead_times", lts)
    v.check_nonnegative("review_period", r)
    need = lts + r[:, None]
    too_long = (need > horizon).any(axis=1)
    if too_long.any():
        v.fail(
            "lead_times",
            f"lead time + review period exceeds the {horizon}-step sample paths",
            too_long,
        )
    a = np.empty((n, n_paths))
    b = np.empty((n, n_paths))
    _ltd_samples_kernel(paths, lts, r, a, b)
    return a, b


# --- lead-time distributions on whole days ------------------------------------------------------


def lead_time_pmf(mean, std, max_days: int) -> np.ndarray:
    """P(L = l) for l = 0..max_days from a gamma lead time with the given mean and std.

    Every lead time t is split between its two neighbouring whole days, 1 - (t - floor(t)) to
    floor(t) and the rest to the day above, so the mean is kept: ``P(L = l) = E[(1 - |T - l|)+]``
    for the gamma T, and a deterministic lead time (std 0) is that split of its one value.
    (Rounding T to the nearest day lost the mean where a step is long next to the lead time: a
    2-day lead time with a 0.1-day std became 0 weeks of a weekly forecast.) Returns
    (n_rows, max_days + 1); mass beyond ``max_days`` is not included (see :func:`horizon_weights`).
    """
    mean = v.as_float_array("lead_time_mean", mean, ndim=1)
    n = mean.shape[0]
    std = v.broadcast_rows("lead_time_std", std, n)
    v.check_nonnegative("lead_time_mean", mean)
    v.check_nonnegative("lead_time_std", std)
    days = np.arange(max_days + 1, dtype=np.float64)
    pmf = np.zeros((n, max_days + 1))
    rnd = (std <= 0) | (mean <= 0)
    if (~rnd).any():
        m = mean[~rnd, None]
        s = std[~rnd, None]
        shape = (m / s) ** 2
        scale = s**2 / m
        # F: CDF of T at whole days -1..max_days + 1; M: its partial mean E[T; T <= x].
        edges = np.arange(-1.0, max_days + 2.0)[None, :]
        x = np.maximum(edges, 0.0)
        f_ = stats.gamma.cdf(x, shape, scale=scale)
        m_ = m * stats.gamma.cdf(x, shape + 1.0, scale=scale)
        lo_f, mid_f, hi_f = f_[:, :-2], f_[:, 1:-1], f_[:, 2:]
        lo_m, mid_m, hi_m = m_[:, :-2], m_[:, 1:-1], m_[:, 2:]
        # E[(T - (l - 1)); l - 1 < T <= l] + E[(l + 1 - T); l < T <= l + 1]
        below = (mid_m - lo_m) - (days - 1.0) * (mid_f - lo_f)
        above = (days + 1.0) * (hi_f - mid_f) - (hi_m - mid_m)
        pmf[~rnd] = np.maximum(below + above, 0.0)
    idx = np.flatnonzero(rnd)
    lo = np.floor(mean[idx]).astype(np.int64)
    frac = mean[idx] - lo
    keep = lo <= max_days
    pmf[idx[keep], lo[keep]] += 1.0 - frac[keep]
    up = keep & (lo + 1 <= max_days)
    pmf[idx[up], lo[up] + 1] += frac[up]
    return pmf


def whole_days(
    lead_times: np.ndarray,
    rng: np.random.Generator,
    days_per_unit: float = 1.0,
    tolerance: float = 0.0,
) -> np.ndarray:
    """Drawn lead times (in units of ``days_per_unit`` days) on whole days, as every form reads
    a lead time (:func:`lead_time_pmf`): t days are floor(t) + 1 with probability
    t - floor(t), else floor(t), so the mean is kept. The uniforms come from a stream spawned
    off ``rng``, so the draws that ``rng`` itself makes next do not move. Returned as given
    when no part-day is above ``tolerance`` (the float noise of a unit change)."""
    days = lead_times * days_per_unit
    whole = np.floor(days)
    part = days - whole
    if not (part > tolerance).any():
        return lead_times
    return (whole + (rng.spawn(1)[0].random(np.shape(days)) < part)) / days_per_unit


def day_split_variance(mean, std, records=None) -> np.ndarray:
    """The variance that reading a lead time on whole days adds to it, per row.

    :func:`lead_time_pmf` and :func:`empirical_lead_time_pmf` split every lead time t between
    floor(t) and floor(t) + 1 with the part-day f = t - floor(t) as the probability of the day
    above (and the simulation draws it so): the mean is kept and the variance grows by
    ``E[f (1 - f)]``. A fixed 2.5-day lead time is 2 or 3 days (variance 0.25, not 0).
    ``mean``, ``std``: the gamma lead time of each row (fixed where ``std`` is 0);
    ``records``: optional observed lead times per row (None where a row has none), which
    replace the gamma for their rows. For a gamma T with shape a and scale s,
    ``f (1 - f) = 1/6 - sum_k cos(2 pi k T) / (pi k)^2`` gives
    ``E[f (1 - f)] = 1/6 - sum_k Re[(1 - 2 pi i k s)^-a] / (pi k)^2``.
    """
    mean = v.as_float_array("lead_time_mean", mean, ndim=1)
    n = mean.shape[0]
    std = v.broadcast_rows("lead_time_std", std, n)
    out = np.zeros(n)
    # A spread under 1e-4 days is read as none (its series would need 1 / std terms).
    fixed = (std < 1e-4) | (mean <= 0)
    part = mean - np.floor(mean)
    out[fixed] = (part * (1.0 - part))[fixed]
    rows = np.flatnonzero(~fixed)
    if rows.size:
        shape = (mean[rows] / std[rows]) ** 2
        scale = std[rows] ** 2 / mean[rows]

        # |Re phi(2 pi k)| <= bound(k) = (1 + (2 pi k s)^2)^(-a/2), falling in k, and the terms
        # after the k-th add up to less than bound(k) / (pi^2 k): the sum stops where that is
        # below 1e-9 (days^2), at k = 1 for most rows (a part-day spread evenly: 1/6). Rows
        # whose terms fall slowly (a gamma of small shape, most of its mass near 0) stop once
        # 2 pi k s >= 50 and add the rest from phi(w) ~ (-i w s)^-a, a Hurwitz zeta sum.
        def tail(k, a, s):
            return (1.0 + (2.0 * np.pi * k * s) ** 2) ** (-a / 2.0) / (np.pi**2 * k)

        terms = np.ones(rows.size)
        short = tail(terms, shape, scale) > 1e-9
        far = np.zeros(rows.size, dtype=bool)
        while short.any():
            terms[short] *= 2.0
            far |= short & (terms >= 64) & (2.0 * np.pi * terms * scale >= 50.0)
            short &= ~far & (tail(terms, shape, scale) > 1e-9)
        out[rows] = 1.0 / 6.0
        for count in np.unique(terms[terms > 1]):  # powers of two: a few groups of rows
            group = np.flatnonzero(terms == count)
            k = np.arange(1, int(count) + 1, dtype=np.float64)
            step = max(1, 2_000_000 // int(count))
            for start in range(0, group.size, step):
                j = group[start : start + step]
                phi = (1.0 - 2j * np.pi * k[None, :] * scale[j, None]) ** (-shape[j, None])
                out[rows[j]] = 1.0 / 6.0 - (phi.real / (np.pi * k) ** 2).sum(axis=1)
        if far.any():
            a, s = shape[far], scale[far]
            lead = np.cos(np.pi * a / 2.0) * (2.0 * np.pi * s) ** (-a) / np.pi**2
            out[rows[far]] -= lead * special.zeta(2.0 + a, terms[far] + 1.0)
    if records is not None:
        for i, r in enumerate(records):
            if r is not None:
                f = np.asarray(r, dtype=np.float64) - np.floor(r)
                out[i] = float(np.mean(f * (1.0 - f)))
    return np.maximum(out, 0.0)


def empirical_lead_time_pmf(samples: list[np.ndarray], max_days: int) -> np.ndarray:
    """P(L = l), l = 0..max_days, from observed lead times per row.

    A fractional record is split between its two neighbouring whole days so that the mean is kept
    (as :func:`lead_time_pmf` does for a deterministic lead time); mass beyond ``max_days`` is not
    included (see :func:`horizon_weights`).
    """
    records = [v.as_float_array("samples", s) for s in samples]
    bad = np.array([r.ndim != 1 or r.size == 0 or not (np.isfinite(r) & (r >= 0)).all()
                    for r in records], dtype=bool)  # fmt: skip
    if bad.any():
        v.fail("samples", "need one or more finite lead times >= 0", bad)
    out = np.zeros((len(records), max_days + 1))
    for i, s in enumerate(records):
        lo = np.floor(s).astype(np.int64)
        frac = s - lo
        w = 1.0 / s.shape[0]
        keep = lo <= max_days
        np.add.at(out[i], lo[keep], w * (1.0 - frac[keep]))
        up = keep & (lo + 1 <= max_days) & (frac > 0)
        np.add.at(out[i], lo[up] + 1, w * frac[up])
    return out


def horizon_weights(
    pmf, review_period, horizon: int, *, tolerance: float = 1e-3
) -> tuple[np.ndarray, np.ndarray]:
    """Mixture weights over horizons 0..H for A = D_{L+R} and B = D_L.

    ``pmf`` (n_rows, n_days): P(L = l), possibly truncated (its missing mass lies beyond);
    ``review_period``: whole periods, scalar or (n_rows,). Returns ``(w_a, w_b)``, each
    (n_rows, H + 1): ``w_a[i, h] = P(L + R = h)`` and ``w_b[i, h] = P(L = h)``, renormalized after
    dropping the mass beyond H; rows where that mass exceeds ``tolerance`` are an error (the
    forecast does not reach far enough).
    """
    pmf = v.as_float_array("lead_time_pmf", pmf, ndim=2)
    n, n_days = pmf.shape
    r = v.broadcast_rows("review_period", review_period, n)
    v.check_nonnegative("review_period", r)
    bad = r != np.rint(r)
    if bad.any():
        v.fail("review_period", "must be a whole number of forecast steps", bad)
    r = r.astype(np.int64)
    w_a = np.zeros((n, horizon + 1))
    w_b = np.zeros((n, horizon + 1))
    width = min(n_days, horizon + 1)
    w_b[:, :width] = pmf[:, :width]
    for i in range(n):
        shift = r[i]
        take = max(0, min(n_days, horizon + 1 - shift))
        w_a[i, shift : shift + take] = pmf[i, :take]
    # No mass at all within the horizon is beyond it at any tolerance: with tolerance 1 (its
    # largest value) such a row was renormalized to NaN weights and refused as "weights_a:
    # missing or non-finite value at row 0", naming neither the key nor the horizon.
    total = w_a.sum(axis=1)
    bad = (1.0 - total > tolerance) | (total <= 0.0)
    if bad.any():
        v.fail(
            "lead_time",
            f"lead time + review period exceeds the forecast horizon ({horizon} steps)",
            bad,
        )
    return w_a / w_a.sum(axis=1, keepdims=True), w_b / w_b.sum(axis=1, keepdims=True)

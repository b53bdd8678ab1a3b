"""Distributions given by a few quantiles of cumulative demand (CPU and CUDA targets).

A row holds the values ``q_1..q_K`` of demand at fixed levels ``p_1 < ... < p_K`` (for example the
forecast's 0.05 ... 0.95). The distribution between and beyond them is defined as follows:

* **Repair.** Values are clipped at zero (demand is non-negative) and sorted, which makes them
  monotone in the level; sorting ("rearrangement") keeps the values and never worsens a
  quantile-crossing forecast.
* **Interpolation.** Between two knots the quantile is linear in the normal score
  ``z = Phi^-1(p)``: ``Q(p) = q_i + b_i (z - z_i)``, ``b_i = (q_{i+1} - q_i) / (z_{i+1} - z_i)``.
  A normal distribution is reproduced exactly; others get a locally normal shape.
* **Tail rule.** Beyond the outermost knots the distribution has a normal tail. Below the lowest
  knot the first segment continues (scale ``b_1``), floored at zero, which puts the lower-tail
  mass below zero into an atom at zero. Above the highest knot the line from the top knot has the
  steepest slope of any chord from a lower knot to it, ``max_j (q_K - q_j) / (z_K - z_j)``: the
  last segment's for a table whose slope grows with the level (a normal's, a right-skewed
  demand's), but never zero while the table rises below tied top knots. Whole-count quantiles
  of a slow mover tie there (0.8 / 0.9 / 0.95 all 1 unit); continuing the flat last segment put
  no mass above them, so a 99% cycle-service plan stocked the 95% quantile and reported 100%
  cycle service and fill rate (Poisson demand of mean 0.3: 96.3% in fact). Each table takes its
  own tail, so a longer horizon's table (knots all at or above a shorter one's) can get the
  lighter tail; a periodic-review fill rate, which subtracts the loss of B = D_L from that of
  A = D_{L+R}, caps B's tails by A's (``kernels.policies.general``).

Means, CDFs and the loss function E[(X - s)+] are then closed-form sums over the segments, because
``int (a + b z) phi(z) dz`` is elementary. Knot constants (``z_i``, ``phi(z_i)``, survival
``1 - p_i``) do not depend on the row and are computed once by :func:`knot_constants`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numba.extending import register_jitable

from . import validate as v
from ._special import norm_cdf, norm_pdf, norm_ppf, norm_sf


def knot_constants(levels: np.ndarray) -> np.ndarray:
    """Per-knot constants, shape (6, K): z_i, pdf(z_i), sf(z_i), 1 / (z_{i+1} - z_i), the
    weights w_i of the mean's part that is linear in the knot values (see :func:`table_mean`),
    and 1 / (z_K - z_i), the chords to the top knot that set the upper tail (:func:`tail_slope`)."""
    levels = np.asarray(levels, dtype=np.float64)
    k = levels.shape[0]
    out = np.zeros((6, k), dtype=np.float64)
    for i in range(k):
        z = norm_ppf(levels[i])
        out[0, i] = z
        out[1, i] = norm_pdf(z)
        out[2, i] = norm_sf(z)
    for i in range(k - 1):
        out[3, i] = 1.0 / (out[0, i + 1] - out[0, i])
    # Segment i contributes q_i m_i + b_i ((pdf_i - pdf_{i+1}) - z_i m_i), m_i = sf_i - sf_{i+1},
    # b_i = (q_{i+1} - q_i) / (z_{i+1} - z_i); the upper tail q_K sf_K + b_{K-1} (pdf_K - z_K sf_K).
    z, pdf, sf, inv_dz, w, inv_top = out
    for i in range(k - 1):
        inv_top[i] = 1.0 / (z[k - 1] - z[i])
    for i in range(k - 1):
        mass = sf[i] - sf[i + 1]
        c = inv_dz[i] * ((pdf[i] - pdf[i + 1]) - z[i] * mass)
        w[i] += mass - c
        w[i + 1] += c
    u = inv_dz[k - 2] * (pdf[k - 1] - z[k - 1] * sf[k - 1])
    w[k - 1] += sf[k - 1] + u
    w[k - 2] -= u
    return out


@register_jitable
def repair_row(src, dst):
    """Copy a row of quantile values into ``dst`` clipped at zero and sorted ascending."""
    k = src.shape[0]
    for i in range(k):
        v = float(src[i])
        if v < 0.0:
            v = 0.0
        j = i
        while j > 0 and dst[j - 1] > v:
            dst[j] = dst[j - 1]
            j -= 1
        dst[j] = v


@register_jitable
def tail_slope(q, kc):
    """Slope (per unit of normal score) of the upper tail of a repaired row q: the steepest chord
    from a lower knot to the top knot (the module's tail rule)."""
    k = q.shape[0]
    top = q[k - 1]
    b = 0.0
    for j in range(k - 1):
        c = (top - q[j]) * kc[5, j]
        if c > b:
            b = c
    return b


@register_jitable
def table_segment(levels, p):
    """(segment, anchor) of level p: the knots ``segment, segment + 1`` whose slope the quantile
    uses, and the knot it extends from (the upper tail extends the last segment from the last
    knot). Depends only on p, so kernels cache it per service level."""
    k = levels.shape[0]
    if p <= levels[0]:
        return 0, 0
    if p >= levels[k - 1]:
        return k - 2, k - 1
    i = 0
    while levels[i + 1] <= p:
        i += 1
    return i, i


@register_jitable
def table_ppf_at(q, kc, segment, anchor, z, floor):
    """Quantile with normal score z of a repaired row q, given :func:`table_segment`'s
    ``(segment, anchor)``; ``floor`` (p at or below the lowest level) clips the lower tail at 0."""
    if anchor == q.shape[0] - 1:
        b = tail_slope(q, kc)
    else:
        b = (q[segment + 1] - q[segment]) * kc[3, segment]
    v = q[anchor] + b * (z - kc[0, anchor])
    if floor and v < 0.0:
        return 0.0
    return v


@register_jitable
def table_ppf(q, levels, kc, p, z):
    """Quantile at level p (with normal score z = Phi^-1(p)) of a repaired row q."""
    segment, anchor = table_segment(levels, p)
    return table_ppf_at(q, kc, segment, anchor, z, p <= levels[0])


@register_jitable
def table_cdf(q, kc, x):
    """P(X <= x) for a repaired row q."""
    k = q.shape[0]
    if x < 0.0:
        return 0.0
    if x < q[0]:
        b = (q[1] - q[0]) * kc[3, 0]
        if b <= 0.0:
            return 0.0
        return norm_cdf(kc[0, 0] + (x - q[0]) / b)
    if x >= q[k - 1]:
        b = tail_slope(q, kc)
        if b <= 0.0:
            return 1.0
        return norm_cdf(kc[0, k - 1] + (x - q[k - 1]) / b)
    i = 0
    while q[i + 1] <= x:
        i += 1
    b = (q[i + 1] - q[i]) * kc[3, i]
    return norm_cdf(kc[0, i] + (x - q[i]) / b)


@register_jitable
def _piece_loss(s, q0, z0, b, za, pdf_a, sf_a, zb, pdf_b, sf_b):
    # int over z in [za, zb] of (q0 + b (z - z0) - s)+ phi(z) dz, with the knot values given.
    if b <= 0.0:
        v = q0 - s
        if v <= 0.0:
            return 0.0
        return v * (sf_a - sf_b)
    zs = z0 + (s - q0) / b
    if zs >= zb:
        return 0.0
    if zs > za:
        za = zs
        pdf_a = norm_pdf(zs)
        sf_a = norm_sf(zs)
    return b * ((pdf_a - pdf_b) - zs * (sf_a - sf_b))


@register_jitable
def table_loss(q, kc, s):
    """E[(X - s)+] for a repaired row q (the mean at s = 0)."""
    return table_loss_tail(q, kc, s, tail_slope(q, kc))


@register_jitable
def table_loss_tail(q, kc, s, tail):
    """:func:`table_loss` with the upper tail's slope ``tail`` given: a fill rate reads the tails
    of D_L capped by those of D_{L+R} (``kernels.policies.general._b_tails``)."""
    if s < 0.0:
        # X >= 0, so (X - s)+ = X - s.
        return _loss_nonneg(q, kc, 0.0, tail) - s
    return _loss_nonneg(q, kc, s, tail)


@register_jitable
def _loss_nonneg(q, kc, s, tail):
    k = q.shape[0]
    total = 0.0
    # Lower tail: (-inf, z_1], floored at zero, which does not matter for s >= 0.
    b = (q[1] - q[0]) * kc[3, 0]
    total += _piece_loss(s, q[0], kc[0, 0], b, -math.inf, 0.0, 1.0, kc[0, 0], kc[1, 0], kc[2, 0])
    for i in range(k - 1):
        if q[i + 1] <= s:
            continue
        b = (q[i + 1] - q[i]) * kc[3, i]
        j = i + 1
        total += _piece_loss(
            s, q[i], kc[0, i], b, kc[0, i], kc[1, i], kc[2, i], kc[0, j], kc[1, j], kc[2, j]
        )
    total += _piece_loss(
        s,
        q[k - 1],
        kc[0, k - 1],
        tail,
        kc[0, k - 1],
        kc[1, k - 1],
        kc[2, k - 1],
        math.inf,
        0.0,
        0.0,
    )
    return total


@register_jitable
def table_mean(q, kc):
    """Mean of a repaired row q (the integral of the floored quantile function).

    Everything above the lowest knot is linear in the knot values (weights ``kc[4]``); only the
    lower tail, floored where its line crosses zero, needs the normal functions. Equal to
    ``table_loss(q, kc, 0.0)`` up to rounding, at a fraction of its cost.
    """
    k = q.shape[0]
    total = 0.0
    for i in range(k):
        total += kc[4, i] * q[i]
    # The weights take the upper tail's slope to be the last segment's; a steeper tail
    # (:func:`tail_slope`) adds its excess times the normal loss at z_K.
    extra = tail_slope(q, kc) - (q[k - 1] - q[k - 2]) * kc[3, k - 2]
    if extra > 0.0:
        total += extra * (kc[1, k - 1] - kc[0, k - 1] * kc[2, k - 1])
    b = (q[1] - q[0]) * kc[3, 0]
    z0 = kc[0, 0]
    p0 = 1.0 - kc[2, 0]
    if b <= 0.0:
        return total + q[0] * p0
    zs = z0 - q[0] / b
    return total + (q[0] - b * z0) * (p0 - norm_cdf(zs)) + b * (norm_pdf(zs) - kc[1, 0])


def quantile_draws(values: np.ndarray, levels: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Demand at probabilities ``u`` (rows x samples, in (0, 1)) of quantile rows ``values``
    (rows x K at ``levels``) under the rules above: repaired, normal-score interpolation, normal
    tails beyond the outer levels (so draws reach past the 5% / 95% values, as the plan's
    distribution does)."""
    # Checked as the policies check them: decreasing levels drew demand falling in u, a single
    # level read its constants past the end, a missing value drew NaN for some u and not others,
    # and u = 0 on a flat row drew 0 * -inf = NaN.
    levels = v.check_levels(levels)
    values = v.as_float_array("values", values, ndim=2)
    if values.shape[1] != levels.shape[0]:
        raise ValueError(f"values: expected {levels.shape[0]} columns, got {values.shape[1]}")
    v.check_finite("values", values)
    u = v.as_float_array("u", u, ndim=2)
    if u.shape[0] != values.shape[0]:
        raise ValueError(f"u: expected {values.shape[0]} rows, got {u.shape[0]}")
    v.check_open_unit("u", u)
    return _draws(values, levels, knot_constants(levels), u)


@njit(cache=True)
def _draws(values, levels, kc, u):
    out = np.empty(u.shape)
    q = np.empty(values.shape[1])
    for r in range(values.shape[0]):
        repair_row(values[r], q)
        for s in range(u.shape[1]):
            out[r, s] = table_ppf(q, levels, kc, u[r, s], norm_ppf(u[r, s]))
    return out

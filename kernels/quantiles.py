"""Distributions given by a few quantiles of cumulative demand (CPU and CUDA targets).

A row holds the values ``q_1..q_K`` of demand at fixed levels ``p_1 < ... < p_K`` (for example the
forecast's 0.05 ... 0.95). The distribution between and beyond them is defined as follows:

* **Repair.** Values are clipped at zero (demand is non-negative) and sorted, which makes them
  monotone in the level; sorting ("rearrangement") keeps the values and never worsens a
  quantile-crossing forecast.
* **Interpolation.** Between two knots the quantile is linear in the normal score
  ``z = Phi^-1(p)``: ``Q(p) = q_i + b_i (z - z_i)``, ``b_i = (q_{i+1} - q_i) / (z_{i+1} - z_i)``.
  A normal distribution is reproduced exactly; others get a locally normal shape.
* **Tail rule.** Beyond the outermost knots the outermost segment continues (a normal tail with the
  local scale ``b``); the lower tail is floored at zero, which puts the lower-tail mass below zero
  into an atom at zero.

Means, CDFs and the loss function E[(X - s)+] are then closed-form sums over the segments, because
``int (a + b z) phi(z) dz`` is elementary. Knot constants (``z_i``, ``phi(z_i)``, survival
``1 - p_i``) do not depend on the row and are computed once by :func:`knot_constants`.
"""

from __future__ import annotations

import math

import numpy as np
from numba.extending import register_jitable

from ._special import norm_cdf, norm_pdf, norm_ppf, norm_sf


def knot_constants(levels: np.ndarray) -> np.ndarray:
    """Per-knot constants, shape (4, K): z_i, pdf(z_i), sf(z_i), 1 / (z_{i+1} - z_i)."""
    levels = np.asarray(levels, dtype=np.float64)
    k = levels.shape[0]
    out = np.zeros((4, k), dtype=np.float64)
    for i in range(k):
        z = norm_ppf(levels[i])
        out[0, i] = z
        out[1, i] = norm_pdf(z)
        out[2, i] = norm_sf(z)
    for i in range(k - 1):
        out[3, i] = 1.0 / (out[0, i + 1] - out[0, i])
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
def table_ppf(q, levels, kc, p, z):
    """Quantile at level p (with normal score z = Phi^-1(p)) of a repaired row q."""
    k = q.shape[0]
    if p <= levels[0]:
        b = (q[1] - q[0]) * kc[3, 0]
        v = q[0] + b * (z - kc[0, 0])
        return v if v > 0.0 else 0.0
    if p >= levels[k - 1]:
        b = (q[k - 1] - q[k - 2]) * kc[3, k - 2]
        return q[k - 1] + b * (z - kc[0, k - 1])
    i = 0
    while levels[i + 1] <= p:
        i += 1
    b = (q[i + 1] - q[i]) * kc[3, i]
    return q[i] + b * (z - kc[0, i])


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
        b = (q[k - 1] - q[k - 2]) * kc[3, k - 2]
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
    if s < 0.0:
        # X >= 0, so (X - s)+ = X - s.
        return _loss_nonneg(q, kc, 0.0) - s
    return _loss_nonneg(q, kc, s)


@register_jitable
def _loss_nonneg(q, kc, s):
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
    b = (q[k - 1] - q[k - 2]) * kc[3, k - 2]
    total += _piece_loss(
        s, q[k - 1], kc[0, k - 1], b, kc[0, k - 1], kc[1, k - 1], kc[2, k - 1], math.inf, 0.0, 0.0
    )
    return total


@register_jitable
def table_mean(q, kc):
    """Mean of a repaired row q (the integral of the floored quantile function)."""
    return table_loss(q, kc, 0.0)

"""Demand distributions fitted by moments: normal, gamma and negative binomial.

Compiled helpers for the parametric kernels (:func:`kernels.policies.general.policy_parametric`):
quantile, CDF and first-order loss ``E[(X - s)+]`` of the shape with a given mean and standard
deviation. ``shape`` is a code of :mod:`kernels.config` (``NORMAL``, ``GAMMA``, ``NEGBIN``); the
negative binomial becomes Poisson where the variance does not exceed the mean.
"""

from __future__ import annotations

import math

from numba import njit
from numba.extending import register_jitable

from .._special import (
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
from ..config import GAMMA, NORMAL


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

"""Scalar distribution functions compiled for the CPU (``njit``) and CUDA targets.

SciPy's special functions cannot be called from Numba kernels, so the handful the policies need are
written here once with ``register_jitable`` (callable from ``@njit`` and ``@cuda.jit`` code and,
uncompiled, from plain Python). They are tested against ``scipy.special``/``scipy.stats``.

Accuracy: the normal functions are accurate to a few ulp (the quantile is Acklam's rational
approximation polished by one Halley step); the incomplete gamma/beta functions use the classical
series and continued fractions (relative error ~1e-13 for moderate shapes, degrading slowly for
shapes beyond ~1e5, where the distributions are essentially normal anyway); from a gamma shape of
1e8 the incomplete gamma is Wilson-Hilferty's normal approximation, within O(1/shape).
"""

from __future__ import annotations

import math

from numba.extending import register_jitable

SQRT2 = math.sqrt(2.0)
SQRT2PI = math.sqrt(2.0 * math.pi)
INV_SQRT2PI = 1.0 / SQRT2PI
_TINY = 1e-300
_EPS = 1e-15

# Acklam's coefficients for the normal quantile.
_A0, _A1, _A2 = -3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02
_A3, _A4, _A5 = 1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00
_B0, _B1, _B2 = -5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02
_B3, _B4 = 6.680131188771972e01, -1.328068155288572e01
_C0, _C1, _C2 = -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00
_C3, _C4, _C5 = -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00
_D0, _D1, _D2, _D3 = (
    7.784695709041462e-03,
    3.224671290700398e-01,
    2.445134137142996e00,
    (3.754408661907416e00),
)
_P_LOW = 0.02425


@register_jitable
def norm_cdf(x):
    """Standard normal CDF."""
    return 0.5 * math.erfc(-x / SQRT2)


@register_jitable
def norm_sf(x):
    """Standard normal survival function 1 - CDF, accurate in the upper tail."""
    return 0.5 * math.erfc(x / SQRT2)


@register_jitable
def norm_pdf(x):
    """Standard normal density."""
    return INV_SQRT2PI * math.exp(-0.5 * x * x)


@register_jitable
def _norm_ppf_lower(p):
    # p in (0, 0.5]: rational approximation, then one Halley step on the lower-tail CDF, which
    # erfc evaluates with full relative precision there.
    if p < _P_LOW:
        q = math.sqrt(-2.0 * math.log(p))
        x = (((((_C0 * q + _C1) * q + _C2) * q + _C3) * q + _C4) * q + _C5) / (
            (((_D0 * q + _D1) * q + _D2) * q + _D3) * q + 1.0
        )
    else:
        q = p - 0.5
        r = q * q
        x = (
            (((((_A0 * r + _A1) * r + _A2) * r + _A3) * r + _A4) * r + _A5)
            * q
            / (((((_B0 * r + _B1) * r + _B2) * r + _B3) * r + _B4) * r + 1.0)
        )
    e = 0.5 * math.erfc(-x / SQRT2) - p
    u = e * SQRT2PI * math.exp(0.5 * x * x)
    return x - u / (1.0 + 0.5 * x * u)


@register_jitable
def norm_ppf(p):
    """Standard normal quantile; -inf/inf at 0/1."""
    if p <= 0.0:
        return -math.inf
    if p >= 1.0:
        return math.inf
    if p > 0.5:
        # 1 - p is exact for p >= 0.5, so the symmetry loses nothing.
        return -_norm_ppf_lower(1.0 - p)
    return _norm_ppf_lower(p)


@register_jitable
def norm_loss(z):
    """Standard normal first-order loss E[(Z - z)+] = pdf(z) - z * sf(z)."""
    return norm_pdf(z) - z * norm_sf(z)


# Shape from which gammainc_pq uses the Wilson-Hilferty approximation (see there). Not 1e9:
# the series' error grows as a * eps (log_pre) and reached 2e-6 just below it, where
# Wilson-Hilferty's is 7e-12, so P(a, x) jumped by 6e-7 at the switch (a 95% gamma level of sd 1
# fell 1.2e-6 as the shape rose past it). From 1e8 Wilson-Hilferty is the more accurate of the
# two (absolute error 5e-11 against 3e-8, either tail's relative error 3.7e-7 against 4.3e-7,
# against Temme's expansion), and the jump is about 1e-7 (1.07e-7 against scipy).
_WH_SHAPE = 1e8


@register_jitable
def gammainc_pq(a, x):
    """Regularized incomplete gamma functions (P(a, x), Q(a, x)), each accurate where small."""
    if x <= 0.0:
        return 0.0, 1.0
    if a >= _WH_SHAPE:
        # Near x = a the series needs ~7 sqrt(a) terms: past a ~ 1e9 it stopped at its 200000
        # iteration cap (Poisson CDF at a mean of 1e10 read 0.523, not 0.500; the gamma CDF at
        # the mean of shape 1e12 0.079), and log_pre loses a * eps * log(a) anyway. The
        # Wilson-Hilferty normal score is within O(1/a) of the exact value there (relative error
        # of either tail < 4e-7 within 8 standard deviations at a = 1e8, < 4e-8 at 1e9).
        c = 1.0 / (9.0 * a)
        z = ((x / a) ** (1.0 / 3.0) - 1.0 + c) / math.sqrt(c)
        return norm_cdf(z), norm_sf(z)
    log_pre = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:
        ap = a
        term = 1.0 / a
        total = term
        for _ in range(200000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        p = total * math.exp(log_pre)
        if p > 1.0:
            p = 1.0
        return p, 1.0 - p
    # Continued fraction for Q (modified Lentz).
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, 200000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        if abs(d) < _TINY:
            d = _TINY
        c = b + an / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    q = math.exp(log_pre) * h
    if q > 1.0:
        q = 1.0
    return 1.0 - q, q


@register_jitable
def _betacf(a, b, x):
    qab = a + b
    qap = a + 1.0
    qam = a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    if abs(d) < _TINY:
        d = _TINY
    d = 1.0 / d
    h = d
    for m in range(1, 200000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < _TINY:
            d = _TINY
        c = 1.0 + aa / c
        if abs(c) < _TINY:
            c = _TINY
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


@register_jitable
def _lgamma_step(a, b):
    # lgamma(a + b) - lgamma(a) for a >= b: the plain difference of two lgammas of a huge a loses
    # |lgamma(a)| * eps (0.06 at a = 1e13, a near-Poisson negative binomial's r), so a large a
    # takes the difference of the Stirling series term by term.
    if a < 1e4:
        return math.lgamma(a + b) - math.lgamma(a)
    c = a + b
    return (
        (a - 0.5) * math.log1p(b / a)
        + b * math.log(c)
        - b
        + (1.0 / c - 1.0 / a) / 12.0
        - (1.0 / (c * c * c) - 1.0 / (a * a * a)) / 360.0
    )


@register_jitable
def betainc_pq(a, b, x):
    """Regularized incomplete beta (I_x(a, b), 1 - I_x(a, b)), each accurate where small."""
    if x <= 0.0:
        return 0.0, 1.0
    if x >= 1.0:
        return 1.0, 0.0
    if a >= b:
        log_b = _lgamma_step(a, b) - math.lgamma(b)
    else:
        log_b = _lgamma_step(b, a) - math.lgamma(a)
    log_bt = log_b + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        i = math.exp(log_bt) * _betacf(a, b, x) / a
        if i > 1.0:
            i = 1.0
        return i, 1.0 - i
    j = math.exp(log_bt) * _betacf(b, a, 1.0 - x) / b
    if j > 1.0:
        j = 1.0
    return 1.0 - j, j


# --- gamma distribution with shape k and scale theta --------------------------------------------


@register_jitable
def gamma_cdf_sf(x, k, theta):
    """(CDF, survival) of Gamma(shape k, scale theta) at x."""
    return gammainc_pq(k, x / theta)


@register_jitable
def gamma_ppf(p, k, theta):
    """Quantile of Gamma(shape k, scale theta) by safeguarded Newton iteration."""
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return math.inf
    z = norm_ppf(p)
    # Wilson-Hilferty start, in units of theta.
    c = 1.0 / (9.0 * k)
    t = 1.0 - c + z * math.sqrt(c)
    x = k * t * t * t
    if not x > 0.0:
        x = math.exp((math.log(p) + math.lgamma(k + 1.0)) / k)
        if not x > 0.0:
            x = 1e-300
    lo = 0.0
    hi = math.inf
    lg = math.lgamma(k)
    for _ in range(300):
        cdf, sf = gammainc_pq(k, x)
        f = cdf - p if cdf < 0.5 else (1.0 - p) - sf
        if f == 0.0:
            break
        if f < 0.0:
            lo = x
        else:
            hi = x
        # The density of a shape k << 1 near 0 overflows: inf, as the compiled code has it
        # (uncompiled, math.exp raised OverflowError at k = 0.01, p = 1e-4), and log(0) of an
        # iterate that underflowed is -inf, not math's ValueError.
        log_dens = (k - 1.0) * (math.log(x) if x > 0.0 else -math.inf) - x - lg
        dens = math.inf if log_dens >= 709.0 else math.exp(log_dens)
        xn = x - f / dens if dens > 0.0 else -1.0
        if not (lo < xn < hi):
            xn = 0.5 * (lo + hi) if hi < math.inf else 2.0 * x + 1.0
        if abs(xn - x) <= 1e-14 * x:
            x = xn
            break
        x = xn
    return x * theta


@register_jitable
def gamma_loss(s, k, theta):
    """E[(X - s)+] for X ~ Gamma(k, theta): mean * Q(k + 1, s/theta) - s * Q(k, s/theta)."""
    mean = k * theta
    if s <= 0.0:
        return mean - s
    y = s / theta
    q1 = gammainc_pq(k + 1.0, y)[1]
    q0 = gammainc_pq(k, y)[1]
    v = mean * q1 - s * q0
    return v if v > 0.0 else 0.0


# --- negative binomial (and its Poisson limit) with mean mu and variance var ---------------------

# Below this relative excess variance the Poisson is used: it differs from the negative binomial
# by about 0.1 * (var - mu) / mu in the CDF, less than the incomplete beta's rounding at r > 1e13.
_POISSON_EPS = 1e-7


@register_jitable
def _negbin_pr(mu, var):
    # (p, r) of the negative binomial with mean mu and variance var > mu. r is taken from the
    # rounded p (r = mu p / (1 - p), 1 - p exact) so that the mean stays mu: near the Poisson
    # limit 1 - p is tiny, and r = mu^2 / (var - mu) with p rounded on its own shifts the mean by
    # mu * eps / (1 - p).
    p = mu / var
    return p, mu * p / (1.0 - p)


@register_jitable
def count_cdf_sf(k, mu, var):
    """(CDF, survival) at integer k of the count law with mean mu and variance var.

    Negative binomial with r = mu^2 / (var - mu) when var > mu (1 + 1e-7); Poisson(mu) otherwise
    (a count law cannot be under-dispersed and stay in this family, so the Poisson is the
    closest; a variance within 1e-7 of the mean leaves the negative binomial ~1e-8 from it).
    """
    if k < 0.0:
        return 0.0, 1.0
    if mu <= 0.0:
        return 1.0, 0.0
    if var > mu * (1.0 + _POISSON_EPS):
        p, r = _negbin_pr(mu, var)
        return betainc_pq(r, k + 1.0, p)
    qp = gammainc_pq(k + 1.0, mu)
    return qp[1], qp[0]


@register_jitable
def _count_sf_shifted(k, mu, var):
    # Survival at k of the size-biased law: NB(r + 1, p) (Poisson stays Poisson), which appears in
    # the loss identity k * P_r(k) = mu * P_{r+1}(k - 1).
    if k < 0.0:
        return 1.0
    if mu <= 0.0:
        return 0.0
    if var > mu * (1.0 + _POISSON_EPS):
        p, r = _negbin_pr(mu, var)
        return betainc_pq(r + 1.0, k + 1.0, p)[1]
    return gammainc_pq(k + 1.0, mu)[0]


@register_jitable
def count_ppf(alpha, mu, var):
    """Smallest integer k >= 0 with CDF(k) >= alpha for the count law of ``count_cdf_sf``.

    alpha is lowered by 64 ulp first (R's ``qnbinom`` fuzz): where alpha is exactly a CDF value
    (NB(1, 1/2) has CDF(2) = 0.875), the computed CDF(k) rounds a few ulp either side of it, and
    below it the search returned k + 1 -- one unit more than scipy (mean 2, std 2 at service
    0.890625 planned 5, not 4).
    """
    if mu <= 0.0:
        return 0.0
    alpha = alpha * (1.0 - 64.0 * 2.220446049250313e-16)
    sd = math.sqrt(var if var > mu else mu)
    guess = math.floor(mu + norm_ppf(alpha) * sd)
    if guess < 0.0:
        guess = 0.0
    if count_cdf_sf(guess, mu, var)[0] >= alpha:
        hi = guess
        step = 1.0
        lo = hi - step
        while lo >= 0.0 and count_cdf_sf(lo, mu, var)[0] >= alpha:
            hi = lo
            step *= 2.0
            lo = hi - step
        if lo < -1.0:
            lo = -1.0
    else:
        lo = guess
        step = 1.0
        hi = lo + step
        while count_cdf_sf(hi, mu, var)[0] < alpha:
            lo = hi
            step *= 2.0
            hi = lo + step
    # Invariant: CDF(lo) < alpha <= CDF(hi) (lo = -1 stands for "below the support").
    while hi - lo > 1.0:
        mid = math.floor(0.5 * (lo + hi))
        if mid <= lo or mid >= hi:  # past 2**53 no integer lies between: never loop forever
            break
        if count_cdf_sf(mid, mu, var)[0] >= alpha:
            hi = mid
        else:
            lo = mid
    return hi


@register_jitable
def count_loss(s, mu, var):
    """E[(X - s)+] for the count law of ``count_cdf_sf`` at a real level s."""
    if s <= 0.0:
        return mu - s
    m = math.floor(s)
    sf_m = count_cdf_sf(m, mu, var)[1]
    g_m = mu * _count_sf_shifted(m - 1.0, mu, var) - m * sf_m
    v = g_m - (s - m) * sf_m
    return v if v > 0.0 else 0.0

"""Scalar helpers on one row of demand samples (CPU and CUDA targets).

A row holds ``n`` equally likely samples of demand over a fixed interval. Quantiles use NumPy's
default ("linear") definition: with ``h = (n - 1) * p``, ``k = floor(h)``, the quantile is
``x_(k) + (h - k) * (x_(k+1) - x_(k))`` over the sorted samples.
"""

from __future__ import annotations

import math

from numba.extending import register_jitable

# Up to this many tracked order statistics, a single insertion pass beats quickselect: almost every
# sample fails one well-predicted comparison against the running threshold.
SMALL_SELECT = 24


@register_jitable
def quantile_index(n, p):
    """(k, frac) of NumPy's linear quantile at level p for n samples; k <= n - 2 when n >= 2."""
    h = (n - 1) * p
    k = int(math.floor(h))
    if k > n - 2:
        k = n - 2
    if k < 0:
        k = 0
    return k, h - k


@register_jitable
def lerp(a, b, t):
    """NumPy's interpolation a + t (b - a), written the way ``np.quantile`` evaluates it."""
    d = b - a
    if t >= 0.5:
        return b - d * (1.0 - t)
    return a + d * t


@register_jitable
def _top_pair(row, m, buf):
    # Keep the m largest samples ascending in buf[:m]; buf[0], buf[1] are x_(n-m), x_(n-m+1).
    n = row.shape[0]
    for i in range(m):
        v = row[i]
        j = i
        while j > 0 and buf[j - 1] > v:
            buf[j] = buf[j - 1]
            j -= 1
        buf[j] = v
    thr = buf[0]
    for i in range(m, n):
        v = row[i]
        if v > thr:
            j = 1
            while j < m and buf[j] < v:
                buf[j - 1] = buf[j]
                j += 1
            buf[j - 1] = v
            thr = buf[0]
    return buf[0], buf[1]


@register_jitable
def _bottom_pair(row, m, buf):
    # Keep the m smallest samples ascending in buf[:m]; buf[m-2], buf[m-1] are x_(m-2), x_(m-1).
    n = row.shape[0]
    for i in range(m):
        v = row[i]
        j = i
        while j > 0 and buf[j - 1] > v:
            buf[j] = buf[j - 1]
            j -= 1
        buf[j] = v
    thr = buf[m - 1]
    for i in range(m, n):
        v = row[i]
        if v < thr:
            j = m - 2
            while j >= 0 and buf[j] > v:
                buf[j + 1] = buf[j]
                j -= 1
            buf[j + 1] = v
            thr = buf[m - 1]
    return buf[m - 2], buf[m - 1]


@register_jitable
def _quickselect(buf, n, k):
    # Hoare partitioning with a median-of-three pivot; leaves x_(k) at buf[k] with smaller-or-equal
    # values left of it and greater-or-equal values right of it.
    lo = 0
    hi = n - 1
    while hi > lo:
        mid = (lo + hi) >> 1
        a = buf[lo]
        b = buf[mid]
        c = buf[hi]
        if a > b:
            a, b = b, a
        if b > c:
            b = c
            if a > b:
                b = a
        pivot = b
        i = lo
        j = hi
        while i <= j:
            while buf[i] < pivot:
                i += 1
            while buf[j] > pivot:
                j -= 1
            if i <= j:
                t = buf[i]
                buf[i] = buf[j]
                buf[j] = t
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return


@register_jitable
def order_stat_pair(row, k, buf):
    """(x_(k), x_(k+1)) of a 1-d sample row (0-based ascending ranks, k <= n - 2).

    ``buf`` is scratch space of at least ``n`` elements; ``row`` is not modified.
    """
    n = row.shape[0]
    m_top = n - k
    m_bottom = k + 2
    if m_top <= SMALL_SELECT and m_top <= m_bottom:
        return _top_pair(row, m_top, buf)
    if m_bottom <= SMALL_SELECT:
        return _bottom_pair(row, m_bottom, buf)
    for i in range(n):
        buf[i] = row[i]
    _quickselect(buf, n, k)
    nxt = buf[k + 1]
    for i in range(k + 2, n):
        if buf[i] < nxt:
            nxt = buf[i]
    return buf[k], nxt


# --- order statistics by counting on the samples' bit patterns --------------------------------
#
# For non-negative floats the IEEE bit patterns, read as signed integers of the same width, are
# ordered like the values (-0.0 reads as the most negative integer and sorts first). Integer
# compares, counts and masked min/max reductions vectorize where the float versions do not, so
# selecting two order statistics by a few counting passes beats any data-dependent branching.

_MAX_PROBES = 10


@register_jitable
def _as_bits(t, ib):
    # Cast an integer threshold to the bit-pattern dtype (ib: a 1-element array of that dtype).
    ib[0] = t
    return ib[0]


@register_jitable
def _count_le(bits, t):
    c = 0
    for j in range(bits.shape[0]):
        c += bits[j] <= t
    return c


@register_jitable
def _extremes(bits, lo, hi, small, big):
    # (min, max) of the samples in (lo, hi].
    mn = big
    mx = small
    for j in range(bits.shape[0]):
        x = bits[j]
        inside = (x > lo) & (x <= hi)
        mn = min(mn, x if inside else big)
        mx = max(mx, x if inside else small)
    return mn, mx


@register_jitable
def _split(bits, lo, t, hi, small, big):
    # (max of the samples in (lo, t], min of the samples in (t, hi]).
    mx = small
    mn = big
    for j in range(bits.shape[0]):
        x = bits[j]
        mx = max(mx, x if (x > lo) & (x <= t) else small)
        mn = min(mn, x if (x > t) & (x <= hi) else big)
    return mx, mn


@register_jitable
def bits_to_float(b, mant, bias):
    """Value of a non-negative IEEE bit pattern with ``mant`` mantissa bits and exponent ``bias``.

    Decoded arithmetically (exact in float64) rather than through an aliasing view, which the
    compiler is free to reorder.
    """
    if b <= 0:
        return 0.0
    e = b >> mant
    m = b & ((1 << mant) - 1)
    if e == 0:
        return math.ldexp(float(m), 1 - bias - mant)
    return math.ldexp(float(m + (1 << mant)), int(e) - bias - mant)


@register_jitable
def ulp_of(t, mant):
    """Spacing of floats with ``mant`` mantissa bits at t > 0 (value per unit of bit pattern)."""
    _, ex = math.frexp(t)
    return math.ldexp(1.0, ex - 1 - mant)


@register_jitable
def float_to_bits(t, mant, bias, big):
    """An integer in bit-pattern space at (or just below) the float t >= 0; t <= 0 gives 0.

    Only ordering matters for thresholds, so subnormals are flushed to 0 and values beyond the
    format's range map to ``big``.
    """
    if not t > 0.0:
        return 0
    fr, ex = math.frexp(t)
    e = ex - 1 + bias
    if e <= 0:
        return 0
    if e >= 2 * bias + 1:
        return int(big)
    f = int(math.floor((2.0 * fr - 1.0) * (1 << mant)))
    return (e << mant) | f


@register_jitable
def pair_from_bits(bits, k, guess, slope, mant, big, ib):
    """(ok, x_(k), x_(k+1)) as bit patterns, by counting passes around a guess.

    ``bits``: the row's samples (non-negative floats, no -0.0) viewed as signed integers of the
    same width; ``guess``: a bit pattern expected near x_(k); ``slope``: expected samples per
    unit of bit pattern there (both from a normal approximation); ``mant``: the float format's
    mantissa bits; ``big``: the integer dtype's maximum; ``ib``: a 1-element array of the integer
    dtype. Secant steps on the empirical CDF over bit patterns, kept inside a shrinking bracket,
    look for a threshold with exactly k + 1 samples at or below it; one masked min/max pass then
    reads both neighbours. All steps stay in integer space, so no float conversions are needed
    per pass. ``ok`` is False if that has not happened within a few passes (the caller then
    selects another way).
    """
    n = bits.shape[0]
    ib[0] = -1
    lo = ib[0]
    c_lo = 0
    hi = big
    c_hi = n
    t = float(guess)
    t_prev = 0.0
    c_prev = -1
    for it in range(_MAX_PROBES):
        if c_lo == k and c_hi == k + 2:
            mn, mx = _extremes(bits, lo, hi, lo, big)
            return True, mn, mx
        lo64 = int(lo)
        hi64 = int(hi)
        if hi64 - lo64 <= 1:
            break
        if it == 4 or it == 7:
            # Shrink the bracket onto the data: it may hold a single repeated value (ties).
            mn, mx = _extremes(bits, lo, hi, lo, big)
            if mn == mx:
                return True, mn, mn
            lo = _as_bits(int(mn) - 1, ib)
            hi = mx
            lo64 = int(lo)
            hi64 = int(hi)
            t = math.nan
        if not (lo64 < t < hi64):
            # Outside the bracket: bisect it (one binade up while there is no upper bound).
            if hi == big:
                t = float(max(lo64, 0) + (1 << mant))
            else:
                t = 0.5 * (float(lo64) + float(hi64))
        tb = _as_bits(min(max(int(t), lo64 + 1), hi64 - 1), ib)
        t = float(tb)
        c = _count_le(bits, tb)
        if c == k + 1:
            a, b = _split(bits, lo, tb, hi, lo, big)
            return True, a, b
        if c <= k:
            lo = tb
            c_lo = c
        else:
            hi = tb
            c_hi = c
        if c_prev >= 0 and c != c_prev and t != t_prev:
            slope = (c - c_prev) / (t - t_prev)
        t_prev = t
        c_prev = c
        # Aim half a sample past the k + 1 boundary so that a step does not stop short of it.
        if slope > 0.0 and math.isfinite(slope):
            t = t + (k + 1 - c + (0.5 if c <= k else -0.5)) / slope
        else:
            t = math.nan
    mn, mx = _extremes(bits, lo, hi, lo, big)
    if mn == mx:
        return True, mn, mn
    return False, mn, mx


@register_jitable
def sample_quantile(row, p, buf):
    """NumPy-linear quantile of the samples in ``row`` at level p."""
    n = row.shape[0]
    if n == 1:
        return float(row[0])
    k, frac = quantile_index(n, p)
    a, b = order_stat_pair(row, k, buf)
    return lerp(float(a), float(b), frac)


@register_jitable
def sample_mean(row):
    """Mean of a sample row, accumulated in float64."""
    total = 0.0
    for i in range(row.shape[0]):
        total += row[i]
    return total / row.shape[0]


@register_jitable
def sample_cdf(row, x):
    """Empirical P(X <= x)."""
    c = 0
    for i in range(row.shape[0]):
        if row[i] <= x:
            c += 1
    return c / row.shape[0]


@register_jitable
def sample_loss(row, s):
    """Empirical first-order loss E[(X - s)+]."""
    total = 0.0
    for i in range(row.shape[0]):
        v = row[i] - s
        if v > 0.0:
            total += v
    return total / row.shape[0]

"""Scalar helpers on one row of demand samples (CPU and CUDA targets; the bit-pattern walk at
the end, built on LLVM bit casts, is CPU only).

A row holds ``n`` equally likely samples of demand over a fixed interval. Quantiles use NumPy's
default ("linear") definition: with ``h = (n - 1) * p``, ``k = floor(h)``, the quantile is
``x_(k) + (h - k) * (x_(k+1) - x_(k))`` over the sorted samples.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, register_jitable

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


# --- order statistics by walking from a guess over the samples' bit patterns -------------------
#
# For non-negative floats the IEEE bit patterns, read as signed integers of the same width, are
# ordered like the values, and the next smaller float is the pattern minus one. Integer compares,
# counts and masked min/max reductions vectorize where the float versions do not (NaN rules), so
# a pass over a row costs a few vector instructions. The passes are chained (each threshold comes
# from the previous pass), so their latency, not their work, sets the speed: the kernels keep the
# number of passes small with a good first guess and overlap one row's passes with the next row's
# moments (see ``kernels.policies.cycle``).


@intrinsic
def as_bits(typingctx, x):
    """Reinterpret a float32/float64 as the signed integer of the same width (CPU only)."""
    if not isinstance(x, types.Float):
        return None
    width = x.bitwidth
    sig = types.Integer.from_bitwidth(width, signed=True)(x)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(width))

    return sig, codegen


@intrinsic
def from_bits(typingctx, x):
    """Reinterpret a signed int32/int64 as the float of the same width (CPU only)."""
    if not isinstance(x, types.Integer) or x.bitwidth not in (32, 64):
        return None
    width = x.bitwidth
    sig = (types.float32 if width == 32 else types.float64)(x)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType() if width == 32 else ir.DoubleType())

    return sig, codegen


@intrinsic
def cast_like(typingctx, like, x):
    """``x`` converted to the type of ``like`` (a value of the row's dtype; only its type is
    used), so thresholds and sentinels keep the width of the data they are compared with."""
    sig = like(like, x)

    def codegen(context, builder, signature, args):
        return context.cast(builder, args[1], signature.args[1], signature.return_type)

    return sig, codegen


@register_jitable(inline="always")
def _around(bits, u, small, big):
    # (max{x <= u}, min{x > u}, #{x <= u}) in one pass.
    mx = small
    mn = big
    c = 0
    for j in range(bits.shape[0]):
        x = bits[j]
        le = x <= u
        c += le
        mx = max(mx, x if le else small)
        mn = min(mn, big if le else x)
    return mx, mn, c


@register_jitable(inline="always")
def _below(bits, u, small):
    # (max{x <= u}, #{x <= u}). _below/_above mirror each other instead of reusing _around: the
    # walk's passes are on the critical path, and the unused third reduction costs ~8% per row.
    m = small
    c = 0
    for j in range(bits.shape[0]):
        x = bits[j]
        le = x <= u
        c += le
        m = max(m, x if le else small)
    return m, c


@register_jitable(inline="always")
def _above(bits, u, big):
    # (min{x > u}, #{x <= u}).
    m = big
    c = 0
    for j in range(bits.shape[0]):
        x = bits[j]
        le = x <= u
        c += le
        m = min(m, big if le else x)
    return m, c


@register_jitable(inline="always")
def pair_by_walk(bits, k, guess, small, big, max_passes):
    """(ok, x_(k), x_(k+1)) of a row as bit patterns, walking from the threshold ``guess``.

    ``bits``: the row's samples (non-negative floats, no -0.0) viewed as signed integers of the
    same width; ``small`` / ``big``: sentinels below / above every sample (-1 and the pattern of
    +inf). One pass gives the samples on both sides of the guess and how many lie at or below it
    (c): c = k + 1 is a hit; otherwise each further pass steps one distinct value down (c > k + 1)
    or up (c < k + 1) until ranks k and k + 1 are covered, so ties cost nothing extra and a guess
    off by d ranks costs d more passes. ``ok`` is False after ``max_passes`` (the caller then
    selects by partitioning: the walk is quadratic in the worst case, partitioning is linear).
    """
    mx, mn, c = _around(bits, guess, small, big)
    if c == k + 1:
        return True, mx, mn
    passes = 1
    if c > k + 1:
        # mx = x_(c-1): step down through the distinct values.
        while passes < max_passes:
            m2, c2 = _below(bits, mx - 1, small)
            passes += 1
            # Ranks c2 .. c-1 hold mx.
            if c2 <= k:
                return True, mx, mx
            if c2 == k + 1:
                return True, m2, mx
            mx = m2
        return False, mx, mx
    # mn = x_(c): step up through the distinct values.
    while passes < max_passes:
        m2, c2 = _above(bits, mn, big)
        passes += 1
        # Ranks c .. c2-1 hold mn.
        if c2 >= k + 2:
            return True, mn, mn
        if c2 == k + 1:
            return True, mn, m2
        mn = m2
    return False, mn, mn


@register_jitable
def cornish_fisher_z(z, skewness):
    """Normal score z corrected for skewness (first Cornish-Fisher term): the score of the same
    quantile of a skewed distribution with the same mean and standard deviation."""
    return z + (z * z - 1.0) * skewness / 6.0


@register_jitable
def sample_quantile(row, p, buf):
    """NumPy-linear quantile of the samples in ``row`` at level p."""
    n = row.shape[0]
    if n == 1:
        return np.float64(row[0])
    k, frac = quantile_index(n, p)
    a, b = order_stat_pair(row, k, buf)
    # np.float64, not float(): Numba's float() keeps a float32 a float32.
    return lerp(np.float64(a), np.float64(b), frac)


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

"""Allocation of a scarce supply of one SKU across fulfillment centers, batched over SKUs.

For SKU k, FC j holds ``stock[k, j]`` and faces demand D_kj, given by ``n_samples`` equally likely
samples over the allocation horizon. Sending ``x_j`` whole units earns ``value[k, j]`` per unit
sold (a margin, or 1 to maximize expected sales), so the objective is
``sum_j value_j E[min(D_j, stock_j + x_j)]`` subject to ``0 <= x_j <= cap_j`` and
``sum_j x_j <= supply - reserve``. A unit is also kept at the DC when no FC values it above
``reserve_value``. ``stock`` may be negative: an inventory position net of backorders owed.
E[min(D, stock + x)] is then sales net of those backorders; it differs from the units shipped
(backorders filled included, E[min(D + B, stock + B + x)]) by the constant B, so the same
allocation maximizes both, and the units that fill backorders are worth a whole unit each.

The objective is separable and concave in each x_j: unit y + 1 at FC j adds
``value_j * E[clip(D_j - stock_j - y, 0, 1)]``, a non-increasing marginal value. The greedy
allocation (always send the unit worth most) is therefore optimal, and it is found without
sorting units by bisection on the Lagrange multiplier lambda of the supply constraint
(water-filling): FC j takes every unit worth more than lambda. Each bisection step uses only the
marginal values at the ends of each FC's current bracket, so it ends with an exact tie: the units
still undecided are all worth the same, and the remaining supply is spread over them evenly
(whole units, lower FC index first for the last ones). With integer demand samples and stock the
marginal values are exact fractions, and the result equals the optimum of the sample-average LP.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange
from numba.extending import register_jitable

from . import validate as v

# Safety net only: each step strictly narrows the undecided value range, so a handful of dozen
# steps suffice; the cap bounds the work if rounding ever made marginal values non-monotone.
_MAX_STEPS = 4000


@register_jitable
def unit_gain(row, u):
    """E[clip(D - u, 0, 1)] over the samples in ``row``: expected sales of unit u + 1."""
    total = 0.0
    for k in range(row.shape[0]):
        # Plain selects (not min/max, which carry NaN rules) let the CPU kernel vectorize.
        t = float(row[k]) - u
        t = t if t > 0.0 else 0.0
        t = t if t < 1.0 else 1.0
        total += t
    return total / row.shape[0]


@register_jitable
def expected_sales(row, u):
    """E[min(D, u)] over the samples in ``row``."""
    total = 0.0
    for k in range(row.shape[0]):
        x = float(row[k])
        total += x if x < u else u
    return total / row.shape[0]


@register_jitable
def _first_at_or_below(row, stock, value, lam, lo, hi):
    # Smallest y in [lo, hi) whose unit is worth <= lam (hi if none), with the values found at y
    # (valid when y < hi) and at y - 1 (valid when y > lo).
    v_at = 0.0
    v_before = 0.0
    while lo < hi:
        m = (lo + hi) >> 1
        g = value * unit_gain(row, stock + m)
        if g <= lam:
            hi = m
            v_at = g
        else:
            lo = m + 1
            v_before = g
    return lo, v_at, v_before


@register_jitable
def allocate_one(samples, stock, cap, value, budget, reserve_value, x, iscratch, fscratch):
    """Greedy-optimal whole-unit allocation of ``budget`` units for one SKU, written into ``x``.

    ``samples`` (n_fcs, n_samples); ``stock``, ``value`` float (n_fcs,); ``cap`` int (n_fcs,);
    ``iscratch`` int (n_fcs, 3) and ``fscratch`` float (n_fcs, 4) are work space.
    """
    n = samples.shape[0]
    for j in range(n):
        x[j] = 0
    if budget <= 0:
        return
    # Columns: a (units surely sent), b (units possibly sent), c (count at the trial multiplier).
    # Float columns: value of unit a, value of unit b - 1, value at c, value at c - 1.
    total_b = 0
    for j in range(n):
        row = samples[j]
        hi_sample = 0.0
        for k in range(row.shape[0]):
            d = float(row[k])
            hi_sample = d if d > hi_sample else hi_sample
        # Units past the largest sample are worth nothing, so the search can stop there.
        # Compared as floats first: math.ceil of a room of 2**63 units or more overflowed int64
        # (to a negative count, so the FC with the most demand got nothing).
        lim = cap[j]
        room = hi_sample - stock[j]
        if room < lim:
            # int(): on the CUDA target math.ceil returns a float, which made lim a float and
            # the kernel fail to compile (the CPU target returns an int).
            lim = int(math.ceil(room)) if room > 0.0 else 0
        c, _, v_before = _first_at_or_below(row, stock[j], value[j], reserve_value, 0, lim)
        iscratch[j, 0] = 0
        iscratch[j, 1] = c
        fscratch[j, 1] = v_before
        fscratch[j, 0] = value[j] * unit_gain(row, stock[j]) if c > 0 else 0.0
        total_b += c
    if total_b <= budget:
        for j in range(n):
            x[j] = iscratch[j, 1]
        return
    total_a = 0
    for _ in range(_MAX_STEPS):
        vmax = -math.inf
        vmin = math.inf
        for j in range(n):
            if iscratch[j, 0] < iscratch[j, 1]:
                # Selects, not max()/min(): numba >= 0.66 implements two-argument max/min as
                # *args overloads, which the CUDA target fails to compile (numba issue 10753),
                # so the GPU kernel calling this helper did not build at all.
                vmax = fscratch[j, 0] if fscratch[j, 0] > vmax else vmax
                vmin = fscratch[j, 1] if fscratch[j, 1] < vmin else vmin
        if vmax <= vmin:
            break
        lam = vmin + 0.5 * (vmax - vmin)
        if not lam < vmax:
            lam = vmin
        total_c = 0
        for j in range(n):
            a = iscratch[j, 0]
            b = iscratch[j, 1]
            if a == b:
                c = a
            elif fscratch[j, 0] <= lam:
                c = a
                fscratch[j, 2] = fscratch[j, 0]
            elif fscratch[j, 1] > lam:
                c = b
                fscratch[j, 3] = fscratch[j, 1]
            else:
                c, v_at, v_before = _first_at_or_below(samples[j], stock[j], value[j], lam, a, b)
                fscratch[j, 2] = v_at
                fscratch[j, 3] = v_before
            iscratch[j, 2] = c
            total_c += c
        if total_c <= budget:
            # Every unit worth more than lam is in.
            for j in range(n):
                c = iscratch[j, 2]
                if c < iscratch[j, 1]:
                    fscratch[j, 0] = fscratch[j, 2]
                iscratch[j, 0] = c
            total_a = total_c
            if total_c == budget:
                for j in range(n):
                    iscratch[j, 1] = iscratch[j, 0]
                break
        else:
            # Units worth lam or less are out.
            for j in range(n):
                c = iscratch[j, 2]
                if c > iscratch[j, 0]:
                    fscratch[j, 1] = fscratch[j, 3]
                iscratch[j, 1] = c
    # The undecided units (b - a per FC) are tied; spread the remaining supply over them.
    rem = budget - total_a
    if rem > 0:
        lo = 0
        hi = 0
        for j in range(n):
            t = iscratch[j, 1] - iscratch[j, 0]
            hi = t if t > hi else hi
        # Smallest level k with sum_j min(t_j, k) >= rem.
        while hi - lo > 1:
            mid = (lo + hi) >> 1
            got = 0
            for j in range(n):
                t = iscratch[j, 1] - iscratch[j, 0]
                got += t if t < mid else mid
            if got >= rem:
                hi = mid
            else:
                lo = mid
        level = hi
        given = 0
        for j in range(n):
            t = iscratch[j, 1] - iscratch[j, 0]
            g = t if t < level - 1 else level - 1
            iscratch[j, 0] += g
            given += g
        for j in range(n):
            if given == rem:
                break
            if iscratch[j, 1] - iscratch[j, 0] > 0:
                iscratch[j, 0] += 1
                given += 1
    for j in range(n):
        x[j] = iscratch[j, 0]


# No "arcp": it turns the mean's division by the sample count into a multiplication by its
# reciprocal, which rounds 3 / 5 up, so a unit worth exactly the reserve value (or exactly as
# much as another FC's) was compared off by an ulp, and the CUDA kernel decided otherwise.
@njit(parallel=True, cache=True, fastmath={"reassoc", "contract", "nsz"})
def _allocate_kernel(samples, stock, cap, value, budget, reserve_value, x, sales):
    n_skus, n_fcs, _ = samples.shape
    for k in prange(n_skus):
        iscratch = np.empty((n_fcs, 3), dtype=np.int64)
        fscratch = np.empty((n_fcs, 4), dtype=np.float64)
        allocate_one(
            samples[k],
            stock[k],
            cap[k],
            value[k],
            budget[k],
            reserve_value[k],
            x[k],
            iscratch,
            fscratch,
        )
        for j in range(n_fcs):
            sales[k, j] = expected_sales(samples[k, j], stock[k, j] + x[k, j])


def prepare_allocation_inputs(samples, stock, supply, caps, value, reserve, reserve_value):
    """Validate and normalize the inputs of :func:`allocate_samples` (shared with the CUDA path)."""
    x = np.asarray(samples)
    if x.dtype not in (np.float32, np.float64):
        x = v.as_float_array("samples", x)
    x = np.ascontiguousarray(x)
    if x.ndim != 3 or x.shape[2] == 0:
        raise ValueError(f"samples: expected shape (n_skus, n_fcs, n_samples), got {x.shape}")
    n_skus, n_fcs, _ = x.shape
    v.check_nonnegative("samples", x)
    st = _per_fc("stock", stock, n_skus, n_fcs)
    # Finite, of any sign: a position net of backorders owed is negative, and unit y + 1 is then
    # worth P(D > stock + y) all the same (1 for each unit that fills a backorder).
    v.check_finite("stock", st)
    sup = v.broadcast_rows("supply", supply, n_skus)
    v.check_nonnegative("supply", sup)
    _check_whole("supply", sup)
    # The budget and held_back are int64: a supply of 2**63 units or more (a large number meant
    # as "unlimited") wrapped to a negative budget, and nothing was allocated.
    too_big = sup >= 2.0**63
    if too_big.any():
        v.fail("supply", "must be below 2**63 units", too_big)
    res = v.broadcast_rows("reserve", reserve, n_skus)
    v.check_nonnegative("reserve", res)
    _check_whole("reserve", res)
    budget = np.maximum(sup - res, 0).astype(np.int64)
    if caps is None:
        cp = np.broadcast_to(budget[:, None], (n_skus, n_fcs)).astype(np.int64)
    else:
        cpf = _per_fc("caps", caps, n_skus, n_fcs)
        v.check_nonnegative("caps", cpf)
        _check_whole("caps", cpf)
        cp = np.minimum(cpf, budget[:, None]).astype(np.int64)
    val = _per_fc("value", 1.0 if value is None else value, n_skus, n_fcs)
    v.check_nonnegative("value", val)
    rv = v.broadcast_rows("reserve_value", reserve_value, n_skus)
    v.check_nonnegative("reserve_value", rv)
    return x, st, np.ascontiguousarray(cp), val, budget, rv


def _per_fc(field, a, n_skus, n_fcs) -> np.ndarray:
    arr = v.as_float_array(field, a)
    try:
        arr = np.broadcast_to(arr, (n_skus, n_fcs))
    except ValueError:
        raise ValueError(
            f"{field}: shape {arr.shape} does not match (n_skus, n_fcs) = {(n_skus, n_fcs)}"
        ) from None
    return np.array(arr, dtype=np.float64, order="C")


def _check_whole(field, arr):
    # Per row (SKU): a (n_skus, n_fcs) mask's flat positions were named as rows ("row 3" of a
    # 2-SKU caps array for SKU 1's second FC).
    bad = arr != np.floor(arr)
    if bad.ndim > 1:
        bad = bad.any(axis=tuple(range(1, bad.ndim)))
    if bad.any():
        v.fail(field, "must be a whole number of units", bad)


def allocate_samples(
    samples, stock, supply, *, caps=None, value=None, reserve=0, reserve_value=0.0
) -> dict[str, np.ndarray]:
    """Allocate each SKU's supply across its FCs to maximize expected sales or margin.

    ``samples`` (n_skus, n_fcs, n_samples), float32/float64 >= 0: demand over the horizon the
    allocation must cover. ``stock`` (n_skus, n_fcs): units already at the FC, or its inventory
    position (on hand + on order - backorders, negative while backorders exceed the rest).
    ``supply`` (n_skus,): whole units available. ``caps`` (n_skus, n_fcs): most units an FC
    may receive (default: no cap); ``value`` (n_skus, n_fcs): value per unit sold (default 1 =
    expected sales); ``reserve`` (n_skus,): units held back at the DC first; ``reserve_value``:
    a unit stays at the DC unless an FC values it above this. Padding FCs take ``caps = 0``.

    Returns ``allocation`` (int64, n_skus x n_fcs), ``expected_sales`` (E[min(D, stock + x)]:
    with a stock net of backorders, sales net of them, negative while they stay unfilled;
    :func:`kernels.allocate` adds the backorders back), ``objective`` (sum of value x expected
    sales per SKU) and ``held_back`` (supply not sent).
    Zero supply allocates zero.
    """
    x, st, cp, val, budget, rv = prepare_allocation_inputs(
        samples, stock, supply, caps, value, reserve, reserve_value
    )
    n_skus, n_fcs, _ = x.shape
    alloc = np.zeros((n_skus, n_fcs), dtype=np.int64)
    sales = np.zeros((n_skus, n_fcs))
    if n_skus and n_fcs:
        _allocate_kernel(x, st, cp, val, budget, rv, alloc, sales)
    sup = v.broadcast_rows("supply", supply, n_skus)
    return {
        "allocation": alloc,
        "expected_sales": sales,
        "objective": (val * sales).sum(axis=1),
        "held_back": sup.astype(np.int64) - alloc.sum(axis=1),
    }

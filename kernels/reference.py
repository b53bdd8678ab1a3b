"""Plain NumPy/SciPy references for every kernel, for tests and benchmarks.

They are written for clarity and independence from the kernels' code paths: sorting instead of
selection, ``scipy.stats`` distributions, numerical integration and root finding, a heap-based
greedy and the sample-average LP solved by HiGHS, and brute force over service times. The two
benchmarked references (samples and quantiles) are vectorized and run in row chunks to bound
memory.
"""

from __future__ import annotations

import heapq

import numpy as np
import scipy.sparse as sparse
from scipy import integrate, optimize, special, stats

# --- cycle service from samples and quantiles (vectorized) ---------------------------------------


def safety_stock_from_samples(samples, service_level, chunk: int = 65536):
    """Sort each row and interpolate NumPy's linear quantile; mean in float64."""
    samples = np.asarray(samples)
    n, s = samples.shape
    sl = np.broadcast_to(np.asarray(service_level, dtype=np.float64), (n,))
    ss = np.empty(n)
    rop = np.empty(n)
    for start in range(0, n, chunk):
        part = np.sort(samples[start : start + chunk], axis=1)
        p = sl[start : start + chunk]
        h = (s - 1) * p
        k = np.minimum(np.floor(h).astype(np.int64), max(s - 2, 0))
        frac = h - k
        rows = np.arange(part.shape[0])
        lo = part[rows, k].astype(np.float64)
        hi = part[rows, np.minimum(k + 1, s - 1)].astype(np.float64)
        level = np.where(frac >= 0.5, hi - (hi - lo) * (1.0 - frac), lo + (hi - lo) * frac)
        rop[start : start + chunk] = level
        ss[start : start + chunk] = level - part.mean(axis=1, dtype=np.float64)
    return ss, rop


def _table_pieces(q, levels):
    # Repaired values, knot scores and the slope of every piece (lower tail, segments, upper tail).
    q = np.sort(np.maximum(np.asarray(q, dtype=np.float64), 0.0), axis=1)
    z = special.ndtri(levels)
    b = np.diff(q, axis=1) / np.diff(z)
    return q, z, b


def _tail_slopes(q, z):
    # Upper tail: the steepest chord from a lower knot to the top knot, per row.
    return np.maximum(((q[:, -1:] - q[:, :-1]) / (z[-1] - z[:-1])).max(axis=1), 0.0)


def safety_stock_from_quantiles(quantiles, levels, service_level, chunk: int = 1 << 20):
    """Quantile interpolated linearly in the normal score; mean as the integral of Q(p)."""
    levels = np.asarray(levels, dtype=np.float64)
    quantiles = np.asarray(quantiles)
    n, k = quantiles.shape
    sl = np.broadcast_to(np.asarray(service_level, dtype=np.float64), (n,))
    ss = np.empty(n)
    rop = np.empty(n)
    pdf = stats.norm.pdf
    for start in range(0, n, chunk):
        q, z, b = _table_pieces(quantiles[start : start + chunk], levels)
        p = sl[start : start + chunk]
        zp = special.ndtri(p)
        seg = np.clip(np.searchsorted(levels, p, side="right") - 1, 0, k - 2)
        rows = np.arange(q.shape[0])
        anchor = np.where(p >= levels[-1], k - 1, seg)
        tail = _tail_slopes(q, z)
        slope = np.where(anchor == k - 1, tail, b[rows, seg])
        level = q[rows, anchor] + slope * (zp - z[anchor])
        level = np.where(p <= levels[0], np.maximum(level, 0.0), level)
        # Mean: interior segments and upper tail are linear in the knot values ...
        sf = special.ndtr(-z)
        mean = np.zeros(q.shape[0])
        for i in range(k - 1):
            mean += (q[:, i] - b[:, i] * z[i]) * (sf[i] - sf[i + 1]) + b[:, i] * (
                pdf(z[i]) - pdf(z[i + 1])
            )
        bu = tail
        mean += (q[:, -1] - bu * z[-1]) * sf[-1] + bu * pdf(z[-1])
        # ... the lower tail is floored at zero, where the extrapolated line crosses it.
        bl = b[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            zc = np.where(bl > 0, z[0] - q[:, 0] / bl, -np.inf)
        mean += (q[:, 0] - bl * z[0]) * (levels[0] - special.ndtr(zc)) + bl * (pdf(zc) - pdf(z[0]))
        rop[start : start + chunk] = level
        ss[start : start + chunk] = level - mean
    return ss, rop


# --- distribution objects for the general policies ---------------------------------------------


def parametric_distribution(shape: str, mean: float, std: float):
    """The frozen ``scipy.stats`` law the kernels fit by moments (None for a point mass)."""
    if std <= 0 or mean <= 0:
        return None
    if shape == "normal":
        return stats.norm(mean, std)
    if shape == "gamma":
        return stats.gamma((mean / std) ** 2, scale=std**2 / mean)
    var = std**2
    if var > mean * (1 + 1e-12):
        r = mean**2 / (var - mean)
        return stats.nbinom(r, mean / var)
    return stats.poisson(mean)


def distribution_loss(dist, s: float, mean: float) -> float:
    """E[(X - s)+] by integrating the survival function (continuous) or summing (discrete)."""
    if dist is None:
        return max(mean - s, 0.0)
    if hasattr(dist, "pmf"):
        hi = int(dist.ppf(1 - 1e-15)) + 2
        ks = np.arange(max(int(np.floor(s)) + 1, 0), hi + 1)
        extra = max(-s, 0.0) if s < 0 else 0.0
        return float(np.sum((ks - max(s, 0.0)) * dist.pmf(ks))) + extra
    lo = dist.support()[0]
    if s < lo:
        return (lo - s) + integrate.quad(dist.sf, lo, np.inf, limit=500, epsabs=1e-11)[0]
    return integrate.quad(dist.sf, s, np.inf, limit=500, epsabs=1e-11, epsrel=1e-11)[0]


def _fill(short, s, m, none):
    # Fill rate 1 - shortage / m; 1 without any demand; NaN where m <= 0 otherwise or s is NaN.
    if m <= 0:
        return 1.0 if none else np.nan
    if s != s:
        return np.nan
    return min(1.0, max(0.0, 1 - short(s) / m))


def policy_parametric(
    mean_a, std_a, mean_b, std_b, shift, service_level, service_type, shape="normal"
):
    """Row-by-row scipy.stats + root finding version of ``kernels.policies.policy_parametric``."""
    n = len(mean_a)
    out = {k: np.empty(n) for k in ("level", "cycle_service", "fill_rate")}
    for i in range(n):
        da = parametric_distribution(shape, mean_a[i], std_a[i])
        db = parametric_distribution(shape, mean_b[i], std_b[i])
        c = shift[i]
        m = mean_a[i] - mean_b[i] + c

        def short(s, da=da, db=db, i=i, c=c):
            return distribution_loss(da, s, mean_a[i]) - distribution_loss(db, s + c, mean_b[i])

        none = mean_a[i] == 0 and mean_b[i] == 0 and c == 0
        if service_type[i] == 0:
            s = mean_a[i] if da is None else max(float(da.ppf(service_level[i])), 0.0)
        elif m <= 0:
            s = 0.0 if none else np.nan
        else:
            target = (1 - service_level[i]) * m
            if short(0.0) <= target:
                s = 0.0
            elif shape == "negbin":
                s = 0
                while short(float(s)) > target:
                    s += 1
                s = float(s)
            else:
                hi = mean_a[i] + c + 10 * std_a[i] + 1
                s = optimize.brentq(
                    lambda x, g=target: short(x) - g, 0.0, hi, xtol=1e-12, rtol=1e-13
                )
        out["level"][i] = s
        out["cycle_service"][i] = (1.0 if s >= mean_a[i] else 0.0) if da is None else da.cdf(s)
        out["fill_rate"][i] = _fill(short, s, m, none)
    return out


def policy_from_samples(a, b, shift, service_level, service_type):
    """Sorting/brentq version of ``kernels.policies.policy_from_samples``."""
    n = a.shape[0]
    out = {k: np.empty(n) for k in ("level", "mean", "cycle_service", "fill_rate")}
    for i in range(n):
        ra = np.asarray(a[i], dtype=np.float64)
        rb = np.asarray(b[i], dtype=np.float64)
        c = shift[i]
        m = ra.mean() - rb.mean() + c

        def short(s, ra=ra, rb=rb, c=c):
            return np.maximum(ra - s, 0).mean() - np.maximum(rb - s - c, 0).mean()

        none = ra.mean() == 0 and rb.mean() == 0 and c == 0
        if service_type[i] == 0:
            s = float(np.quantile(ra, service_level[i]))
            if (ra == np.floor(ra)).all() and np.mean(ra <= np.floor(s)) < service_level[i]:
                s = float(ra[ra > np.floor(s)].min())  # whole units: the next sample value up
            elif (ra == np.floor(ra)).all():
                s = float(ra[ra <= s].max())  # whole units: the smallest whole level meeting it
        elif m <= 0:
            s = 0.0 if none else np.nan
        else:
            target = (1 - service_level[i]) * m
            if short(0.0) <= target:
                s = 0.0
            else:
                s = optimize.brentq(lambda x, g=target: short(x) - g, 0.0, ra.max(), xtol=1e-12)
                whole = (
                    c == np.floor(c) and (ra == np.floor(ra)).all() and (rb == np.floor(rb)).all()
                )
                if whole:  # whole units: the smallest whole level that meets the target
                    k = np.floor(s)
                    s = k if short(k) <= target else k + 1.0
        out["level"][i] = s
        out["mean"][i] = ra.mean()
        out["cycle_service"][i] = np.mean(ra <= s) if s == s else np.nan
        out["fill_rate"][i] = _fill(short, s, m, none)
    return out


def table_tail_slope(q_row, levels):
    """The upper tail's slope of one quantile row: the steepest chord from a lower knot to the
    top knot (never flat while the table rises below tied top knots)."""
    q = np.sort(np.maximum(np.asarray(q_row, dtype=np.float64), 0.0))
    z = special.ndtri(levels)
    return max(0.0, np.max((q[-1] - q[:-1]) / (z[-1] - z[:-1])))


def table_quantile_function(q_row, levels, tail=None):
    """Q(p) of one quantile row under the interpolation and tail rule of kernels.quantiles
    (``tail``: the upper tail's slope, if not the row's own)."""
    q = np.sort(np.maximum(np.asarray(q_row, dtype=np.float64), 0.0))
    z = special.ndtri(levels)
    slope = table_tail_slope(q, levels) if tail is None else tail

    def qf(p):
        zp = special.ndtri(p)
        val = np.interp(zp, z, q)
        if zp < z[0]:
            val = max(q[0] + (q[1] - q[0]) / (z[1] - z[0]) * (zp - z[0]), 0.0)
        elif zp > z[-1]:
            val = q[-1] + slope * (zp - z[-1])
        return val

    return qf


def table_loss(q_row, levels, s, tail=None):
    """E[(X - s)+] for one quantile row by integrating (Q(p) - s)+ over p with quad."""
    qf = table_quantile_function(q_row, levels, tail)
    pts = list(levels)
    return integrate.quad(
        lambda p: max(qf(p) - s, 0.0), 0.0, 1.0, points=pts, limit=400, epsabs=1e-10
    )[0]


def table_cdf(q_row, levels, x):
    """P(X <= x) for one quantile row by bisection on Q(p) <= x."""
    qf = table_quantile_function(q_row, levels)
    if x < 0:
        return 0.0
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if qf(mid) <= x:
            lo = mid
        else:
            hi = mid
    return lo


def policy_from_quantiles(cumulative, levels, w_a, w_b, shift, service_level, service_type):
    """Root-finding version of ``kernels.policies.policy_from_quantiles`` on the quad-integrated
    mixtures (horizon 0 of the weights is zero demand)."""
    n = cumulative.shape[0]
    out = {k: np.empty(n) for k in ("level", "mean", "cycle_service", "fill_rate")}

    def mix(fn, w, i, x):
        total = w[i, 0] * fn(np.zeros(len(levels)), x)
        for h in range(1, w.shape[1]):
            if w[i, h] > 0:
                total += w[i, h] * fn(cumulative[i, h - 1], x)
        return total

    def cdf(q, x):
        return 1.0 if not q.any() and x >= 0 else table_cdf(q, levels, x)

    def loss(q, x):
        return max(-x, 0.0) if not q.any() else table_loss(q, levels, x)

    for i in range(n):
        c = shift[i]
        # The fill rate reads each horizon of B with its tail capped by those of A's horizons at
        # or beyond it, unless B = A; horizon 0 is no demand.
        same = np.array_equal(w_a[i], w_b[i])
        tails = {}
        cap = np.inf
        for h in range(w_a.shape[1] - 1, 0, -1):
            own = table_tail_slope(cumulative[i, h - 1], levels)
            if w_a[i, h] > 0:
                cap = min(cap, own)
            tails[h] = own if same else min(cap, own)

        def mix_b(x, i=i, tails=tails):
            total = w_b[i, 0] * max(-x, 0.0)
            for h in range(1, w_b.shape[1]):
                if w_b[i, h] > 0:
                    q = cumulative[i, h - 1]
                    part = max(-x, 0.0) if not q.any() else table_loss(q, levels, x, tails[h])
                    total += w_b[i, h] * part
            return total

        mean_a = mix(loss, w_a, i, 0.0)
        mean_b = mix_b(0.0)
        m = mean_a - mean_b + c
        none = mean_a == 0 and mean_b == 0 and c == 0
        hi = 4 * mean_a + c + 10

        def short(x, i=i, c=c, mix_b=mix_b):
            return mix(loss, w_a, i, x) - mix_b(x + c)

        if service_type[i] == 0:
            s = optimize.brentq(
                lambda x, i=i: mix(cdf, w_a, i, x) - service_level[i], 0.0, hi, xtol=1e-10
            )
        elif m <= 0:
            s = 0.0 if none else np.nan
        else:
            target = (1 - service_level[i]) * m
            s = (
                0.0
                if short(0.0) <= target
                else optimize.brentq(lambda x, g=target: short(x) - g, 0.0, hi, xtol=1e-10)
            )
        used = [h - 1 for h in range(1, w_a.shape[1]) if w_a[i, h] > 0 or w_b[i, h] > 0]
        knots = np.clip(cumulative[i, used], 0.0, None)
        if s == s and s != np.floor(s) and c == np.floor(c) and (knots == np.floor(knots)).all():
            lower = np.floor(s)  # whole-count table: the smallest whole level that meets it
            if service_type[i] == 0:
                ok = mix(cdf, w_a, i, lower) >= service_level[i]
            else:
                ok = short(lower) <= (1 - service_level[i]) * m + 1e-9 * m
            s = lower if ok else lower + 1.0
        out["level"][i] = s
        out["mean"][i] = mean_a
        out["cycle_service"][i] = mix(cdf, w_a, i, s) if s == s else np.nan
        out["fill_rate"][i] = _fill(short, s, m, none)
    return out


def order_quantities(rule, position, reorder_point, order_up_to, lot_size, case_pack, moq):
    """Loop version of ``kernels.policies.order_quantities`` (rules "rQ", "sS", "RS").

    (r, Q): add lots one at a time while the position is still at or below r (enumeration).
    """
    out = np.zeros(len(position))
    for i in range(len(out)):
        ip = position[i]
        if rule[i] == "rQ":
            n = 0
            while ip + n * lot_size[i] <= reorder_point[i]:
                n += 1
            out[i] = n * lot_size[i]
            continue
        if rule[i] == "RS":
            due = ip < order_up_to[i]
        else:
            due = ip <= reorder_point[i]
        if due:
            need = max(order_up_to[i] - ip, moq[i], 0.0)
            packs = np.ceil(round(need / case_pack[i], 9))
            out[i] = packs * case_pack[i]
    return out


# --- allocation -----------------------------------------------------------------------------


def allocate_greedy(samples, stock, supply, caps, value, reserve_value=0.0):
    """Unit-by-unit greedy with a heap for one SKU: the marginal-value optimum."""
    samples = np.asarray(samples, dtype=np.float64)
    n = samples.shape[0]
    x = np.zeros(n, dtype=np.int64)

    def gain(j, y):
        return value[j] * np.clip(samples[j] - stock[j] - y, 0.0, 1.0).mean()

    heap = [(-gain(j, 0), j) for j in range(n) if caps[j] > 0]
    heapq.heapify(heap)
    for _ in range(int(supply)):
        if not heap:
            break
        g, j = heapq.heappop(heap)
        if -g <= reserve_value:
            break
        x[j] += 1
        if x[j] < caps[j]:
            heapq.heappush(heap, (-gain(j, x[j]), j))
    return x


def allocation_objective(samples, stock, x, value):
    """sum_j value_j * mean(min(D_j, stock_j + x_j))."""
    samples = np.asarray(samples, dtype=np.float64)
    sales = np.minimum(samples, (np.asarray(stock) + np.asarray(x))[:, None]).mean(axis=1)
    return float(np.dot(value, sales))


def allocation_lp(samples, stock, supply, caps, value, reserve_value=0.0, options=None):
    """Optimal value of the sample-average LP of one SKU, solved by HiGHS.

    Variables x_j in [0, cap_j] and z_jk in [min(stock_j, 0), d_jk] (sales of FC j in scenario
    k, net of backorders where the stock is a negative position) with z_jk - x_j <= stock_j and
    sum_j x_j <= supply; maximize
    sum_j value_j / S sum_k z_jk + reserve_value * (supply - sum_j x_j).
    Returns ``(objective, x, result)``; objective excludes the reserve term.
    """
    samples = np.asarray(samples, dtype=np.float64)
    n, s = samples.shape
    nz = n * s
    c = np.concatenate(
        [np.full(n, reserve_value), -np.repeat(np.asarray(value, dtype=np.float64) / s, s)]
    )
    rows = np.arange(nz)
    link = sparse.hstack(
        [
            sparse.csr_matrix((-np.ones(nz), (rows, np.repeat(np.arange(n), s))), shape=(nz, n)),
            sparse.identity(nz, format="csr"),
        ]
    )
    budget = sparse.hstack([sparse.csr_matrix(np.ones((1, n))), sparse.csr_matrix((1, nz))])
    a_ub = sparse.vstack([link, budget]).tocsr()
    b_ub = np.concatenate([np.repeat(np.asarray(stock, dtype=np.float64), s), [float(supply)]])
    # z's lower bound min(stock_j, 0), not 0: with a negative stock (backorders owed) z >= 0
    # forced x_j >= -stock_j, infeasible when supply is short of the backorders. The optimal z
    # is min(d, stock + x) >= min(stock, 0), so the bound cuts nothing off.
    stock = np.asarray(stock, dtype=np.float64)
    z_low = np.repeat(np.minimum(stock, 0.0), s)
    bounds = np.column_stack(
        [
            np.concatenate([np.zeros(n), z_low]),
            np.concatenate([np.asarray(caps, dtype=np.float64), samples.ravel()]),
        ]
    )
    res = optimize.linprog(
        c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs", options=options or {}
    )
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed: {res.message}")
    x = res.x[:n]
    return float(-res.fun + reserve_value * x.sum()), x, res


# --- two-echelon -----------------------------------------------------------------------------


def two_echelon_cost(s_out, sigma, z, h, lt, svc, dc_tau_max, dc_z, dc_h):
    """Safety-stock holding cost of one SKU at DC outbound service time ``s_out``.

    A promised service time is a maximum, so FC j's net replenishment time is
    ``max(s_out + lt_j - svc_j, 0)`` and the DC's is ``dc_tau_max - s_out`` (``SI + T - S``).
    """
    sigma = np.asarray(sigma, dtype=np.float64)
    sigma0 = np.sqrt(np.sum(sigma**2))
    dc = dc_h * dc_z * sigma0 * np.sqrt(max(dc_tau_max - s_out, 0.0))
    tau = np.maximum(s_out + np.asarray(lt) - np.asarray(svc), 0.0)
    fc = np.sum(np.asarray(h) * np.asarray(z) * sigma * np.sqrt(tau))
    return float(dc + fc)


def two_echelon_brute_force(grid, sigma, z, h, lt, svc, dc_tau_max, dc_z, dc_h):
    """``(S, cost)`` of the cheapest DC outbound service time among ``grid`` (first on ties).

    Evaluates :func:`two_echelon_cost`'s formula at every grid point at once."""
    grid = np.asarray(grid, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    sigma0 = np.sqrt(np.sum(sigma**2))
    dc = dc_h * dc_z * sigma0 * np.sqrt(np.maximum(dc_tau_max - grid, 0.0))
    tau = np.maximum(grid[:, None] + np.asarray(lt)[None, :] - np.asarray(svc)[None, :], 0.0)
    costs = dc + np.sqrt(tau) @ (np.asarray(h) * np.asarray(z) * sigma)
    best = int(np.argmin(costs))
    return float(grid[best]), float(costs[best])

"""Two-echelon safety-stock positioning (one DC feeding N FCs) under the guaranteed-service model.

Each stage quotes an outbound service time and holds safety stock against demand over its net
replenishment time (Graves & Willems): ``SS = z * sigma * sqrt(tau)``. A quoted service time is a
*maximum*: a stage may serve faster than it promised, never slower. Per SKU:

* the DC receives from a supplier that guarantees ``dc_inbound_service`` days (``SI``), needs
  ``dc_lead_time`` days (``T``) and quotes the FCs an outbound service time ``S`` in ``[0, SI + T]``
  (the decision); its net time is ``SI + T - S`` and its demand is the FCs' combined demand (std
  ``sqrt(sum sigma_j^2)``, independent FCs);
* FC j waits at most ``S`` for the DC, needs ``fc_lead_time`` days in transit (``L_j``) and promises
  customers ``fc_service_time`` days (``s_j``, usually 0). Its net time is
  ``tau_j = max(S + L_j - s_j, 0)``: an FC whose promise covers its whole replenishment time
  holds no safety stock, and a promise longer than ``SI + T + L_j`` is allowed (that FC never
  holds any).

The safety-stock holding cost

    C(S) = h_0 z_0 sigma_0 sqrt(SI + T - S) + sum_j h_j z_j sigma_j sqrt(max(S + L_j - s_j, 0))

is concave in S between the FCs' kinks ``S = s_j - L_j`` (where an FC starts holding stock) but
not across them, so its minimum over ``[0, SI + T]`` lies at ``0``, at ``SI + T`` or at a kink
inside that range. The kernel evaluates exactly those points (O(n_fc^2) per SKU, SKUs in
parallel) and keeps the cheapest, the smallest S among exact ties.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import validate as v
from ._special import norm_ppf


@njit(cache=True)
def _cost(s_out, p0, p1, weight, kink, dc_tau_max, dc_term):
    # weight_j = h_j z_j sigma_j; FC j's net time is max(S - kink_j, 0), kink_j = s_j - L_j
    # (written this way so that it is exactly 0 at the FC's own kink).
    total = dc_term * math.sqrt(max(dc_tau_max - s_out, 0.0))
    for j in range(p0, p1):
        total += weight[j] * math.sqrt(max(s_out - kink[j], 0.0))
    return total


@njit(parallel=True, cache=True)
def _echelon_kernel(
    ptr,
    mean,
    sigma,
    weight,
    kink,
    z,
    dc_tau_max,
    dc_z,
    dc_h,
    s_out,
    dc_ss,
    dc_base,
    cost,
    fc_tau,
    fc_ss,
    fc_base,
):
    for k in prange(ptr.shape[0] - 1):
        p0 = ptr[k]
        p1 = ptr[k + 1]
        var0 = 0.0
        mu0 = 0.0
        for j in range(p0, p1):
            var0 += sigma[j] * sigma[j]
            mu0 += mean[j]
        ub = dc_tau_max[k]
        sigma0 = math.sqrt(var0)
        dc_term = dc_h[k] * dc_z[k] * sigma0
        # Candidates: both ends and every kink strictly inside; the cheapest wins, the smallest
        # S among exact ties.
        best_s = 0.0
        best_c = _cost(0.0, p0, p1, weight, kink, ub, dc_term)
        for j in range(p0, p1 + 1):
            cand = ub if j == p1 else kink[j]
            if j < p1 and not (0.0 < cand < ub):
                continue
            c = _cost(cand, p0, p1, weight, kink, ub, dc_term)
            if c < best_c or (c == best_c and cand < best_s):
                best_c = c
                best_s = cand
        s_out[k] = best_s
        cost[k] = best_c
        tau0 = ub - best_s
        dc_ss[k] = dc_z[k] * sigma0 * math.sqrt(tau0)
        dc_base[k] = mu0 * tau0 + dc_ss[k]
        for j in range(p0, p1):
            tau = max(best_s - kink[j], 0.0)
            fc_tau[j] = tau
            fc_ss[j] = z[j] * sigma[j] * math.sqrt(tau)
            fc_base[j] = mean[j] * tau + fc_ss[j]


def check_service_level(field, arr, labels=None) -> None:
    """Service levels in [0.5, 1), errors naming ``field`` and the rows (or ``labels``)."""
    # Below 0.5 the safety stock z * sigma * sqrt(tau) would be negative, and the cost would no
    # longer be concave between the kinks (the candidate points would not be enough).
    v.check_open_unit(field, arr, labels)
    bad = arr < 0.5
    if bad.any():
        v.fail(
            field, "must be at least 0.5 (a lower level means negative safety stock)", bad, labels
        )


def two_echelon_safety_stock(
    sku,
    fc_demand_mean,
    fc_demand_std,
    fc_lead_time,
    fc_service_level,
    fc_holding_cost,
    dc_lead_time,
    dc_service_level,
    dc_holding_cost,
    *,
    dc_inbound_service=0.0,
    fc_service_time=0.0,
) -> dict[str, np.ndarray]:
    """Guaranteed-service positioning for one DC and its FCs, for many SKUs at once.

    FC-level arrays (one entry per SKU x FC): ``sku`` (int code 0..n_skus-1, any order), daily
    demand mean/std, transit lead time from the DC, cycle service level, holding cost per unit,
    and ``fc_service_time`` (days promised to customers). SKU-level arrays (n_skus,): the DC's
    supplier lead time, service level, holding cost and ``dc_inbound_service``. Service levels
    must lie in [0.5, 1); times, demands and costs must be finite and >= 0.

    Returns SKU-level ``dc_service_time`` (the chosen outbound service time S), ``dc_safety_stock``,
    ``dc_base_stock`` and ``cost`` (safety-stock holding cost), and FC-level (input order)
    ``fc_net_time`` (``max(S + L_j - s_j, 0)``), ``fc_safety_stock`` and ``fc_base_stock``. A
    promise ``s_j`` at least ``L_j`` (or even beyond ``dc_inbound_service + dc_lead_time + L_j``)
    is valid: that FC's net time is 0 for some or every S, and it holds no safety stock there.
    Errors name the field and the (positional) row.
    """
    sku = np.asarray(sku)
    if sku.ndim != 1 or not np.issubdtype(sku.dtype, np.integer):
        raise ValueError("sku: expected a 1-d array of integer SKU codes")
    m = sku.shape[0]
    dc_lt = v.as_float_array("dc_lead_time", dc_lead_time, ndim=1)
    n_skus = dc_lt.shape[0]
    if m and (sku.min() < 0 or sku.max() >= n_skus):
        bad = (sku < 0) | (sku >= n_skus)
        v.fail("sku", f"code outside 0..{n_skus - 1}", bad)
    fc = {
        "fc_demand_mean": fc_demand_mean,
        "fc_demand_std": fc_demand_std,
        "fc_lead_time": fc_lead_time,
        "fc_holding_cost": fc_holding_cost,
        "fc_service_time": fc_service_time,
    }
    fc = {k: v.broadcast_rows(k, a, m) for k, a in fc.items()}
    for k, a in fc.items():
        v.check_nonnegative(k, a)
    fc_sl = v.broadcast_rows("fc_service_level", fc_service_level, m)
    check_service_level("fc_service_level", fc_sl)
    dc = {
        "dc_lead_time": dc_lt,
        "dc_holding_cost": v.broadcast_rows("dc_holding_cost", dc_holding_cost, n_skus),
        "dc_inbound_service": v.broadcast_rows("dc_inbound_service", dc_inbound_service, n_skus),
    }
    for k, a in dc.items():
        v.check_nonnegative(k, a)
    dc_sl = v.broadcast_rows("dc_service_level", dc_service_level, n_skus)
    check_service_level("dc_service_level", dc_sl)

    order = np.argsort(sku, kind="stable")
    ptr = np.zeros(n_skus + 1, dtype=np.int64)
    np.cumsum(np.bincount(sku, minlength=n_skus), out=ptr[1:])
    srt = {k: np.ascontiguousarray(a[order]) for k, a in fc.items()}
    z = np.array([norm_ppf(p) for p in fc_sl[order]])
    dc_z = np.array([norm_ppf(p) for p in dc_sl])
    weight = srt["fc_holding_cost"] * z * srt["fc_demand_std"]
    kink = srt["fc_service_time"] - srt["fc_lead_time"]
    out_sku = {k: np.zeros(n_skus) for k in ("dc_service_time", "dc_safety_stock", "dc_base_stock")}
    out_sku["cost"] = np.zeros(n_skus)
    tau = np.zeros(m)
    ss = np.zeros(m)
    base = np.zeros(m)
    _echelon_kernel(
        ptr,
        srt["fc_demand_mean"],
        srt["fc_demand_std"],
        weight,
        kink,
        z,
        dc["dc_inbound_service"] + dc_lt,
        dc_z,
        dc["dc_holding_cost"],
        out_sku["dc_service_time"],
        out_sku["dc_safety_stock"],
        out_sku["dc_base_stock"],
        out_sku["cost"],
        tau,
        ss,
        base,
    )
    inv = np.empty(m, dtype=np.int64)
    inv[order] = np.arange(m)
    out = dict(out_sku)
    out["fc_net_time"] = tau[inv]
    out["fc_safety_stock"] = ss[inv]
    out["fc_base_stock"] = base[inv]
    return out

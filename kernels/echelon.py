"""Two-echelon safety-stock positioning (one DC feeding N FCs) under the guaranteed-service model.

Each stage quotes an outbound service time and holds safety stock against demand over its net
replenishment time ``tau = inbound service time + processing time - outbound service time``:
``SS = z * sigma * sqrt(tau)`` (Graves & Willems). Per SKU:

* the DC receives from a supplier that guarantees ``dc_inbound_service`` days, needs
  ``dc_lead_time`` days, and quotes the FCs an outbound service time ``S`` (the decision);
  its demand is the FCs' combined demand (std ``sqrt(sum sigma_j^2)``, independent FCs);
* FC j waits ``S`` for the DC, needs ``fc_lead_time`` days in transit and quotes customers
  ``fc_service_time`` (usually 0), so ``tau_j = S + L_j - s_j`` must be >= 0.

The safety-stock holding cost ``h_0 z_0 sigma_0 sqrt(SI + T - S) + sum_j h_j z_j sigma_j
sqrt(S + L_j - s_j)`` is concave in S, so its minimum over the feasible interval
``[max(0, max_j(s_j - L_j)), SI + T]`` lies at an end: either the DC holds stock and quotes the
shortest time, or it holds none and passes its whole replenishment time on.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from . import validate as v
from ._special import norm_ppf


@njit(cache=True)
def _cost(s_out, ptr0, ptr1, sigma, z, h, lt, svc, dc_tau_max, dc_term):
    total = dc_term * math.sqrt(max(dc_tau_max - s_out, 0.0))
    for j in range(ptr0, ptr1):
        total += h[j] * z[j] * sigma[j] * math.sqrt(max(s_out + lt[j] - svc[j], 0.0))
    return total


@njit(parallel=True, cache=True)
def _echelon_kernel(
    ptr,
    mean,
    sigma,
    lt,
    z,
    h,
    svc,
    dc_lt,
    dc_in,
    dc_z,
    dc_h,
    s_out,
    dc_ss,
    dc_base,
    cost,
    fc_tau,
    fc_ss,
    fc_base,
    infeasible,
):
    for k in prange(ptr.shape[0] - 1):
        p0 = ptr[k]
        p1 = ptr[k + 1]
        var0 = 0.0
        mu0 = 0.0
        lb = 0.0
        for j in range(p0, p1):
            var0 += sigma[j] * sigma[j]
            mu0 += mean[j]
            lb = max(lb, svc[j] - lt[j])
        ub = dc_in[k] + dc_lt[k]
        infeasible[k] = lb > ub
        if lb > ub:
            continue
        sigma0 = math.sqrt(var0)
        dc_term = dc_h[k] * dc_z[k] * sigma0
        c_lb = _cost(lb, p0, p1, sigma, z, h, lt, svc, ub, dc_term)
        c_ub = _cost(ub, p0, p1, sigma, z, h, lt, svc, ub, dc_term)
        s = lb if c_lb <= c_ub else ub
        s_out[k] = s
        cost[k] = min(c_lb, c_ub)
        tau0 = ub - s
        dc_ss[k] = dc_z[k] * sigma0 * math.sqrt(tau0)
        dc_base[k] = mu0 * tau0 + dc_ss[k]
        for j in range(p0, p1):
            tau = max(s + lt[j] - svc[j], 0.0)
            fc_tau[j] = tau
            fc_ss[j] = z[j] * sigma[j] * math.sqrt(tau)
            fc_base[j] = mean[j] * tau + fc_ss[j]


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
    supplier lead time, service level, holding cost and ``dc_inbound_service``.

    Returns SKU-level ``dc_service_time`` (the chosen outbound service time S), ``dc_safety_stock``,
    ``dc_base_stock`` and ``cost`` (safety-stock holding cost), and FC-level (input order)
    ``fc_net_time``, ``fc_safety_stock`` and ``fc_base_stock``. A SKU whose FCs promise customers
    more than ``dc_inbound_service + dc_lead_time + transit`` allows is an error.
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
    v.check_open_unit("fc_service_level", fc_sl)
    dc = {
        "dc_lead_time": dc_lt,
        "dc_holding_cost": v.broadcast_rows("dc_holding_cost", dc_holding_cost, n_skus),
        "dc_inbound_service": v.broadcast_rows("dc_inbound_service", dc_inbound_service, n_skus),
    }
    for k, a in dc.items():
        v.check_nonnegative(k, a)
    dc_sl = v.broadcast_rows("dc_service_level", dc_service_level, n_skus)
    v.check_open_unit("dc_service_level", dc_sl)

    order = np.argsort(sku, kind="stable")
    ptr = np.zeros(n_skus + 1, dtype=np.int64)
    np.cumsum(np.bincount(sku, minlength=n_skus), out=ptr[1:])
    srt = {k: np.ascontiguousarray(a[order]) for k, a in fc.items()}
    z = np.array([norm_ppf(p) for p in fc_sl[order]])
    dc_z = np.array([norm_ppf(p) for p in dc_sl])
    out_sku = {k: np.zeros(n_skus) for k in ("dc_service_time", "dc_safety_stock", "dc_base_stock")}
    out_sku["cost"] = np.zeros(n_skus)
    tau = np.zeros(m)
    ss = np.zeros(m)
    base = np.zeros(m)
    infeasible = np.zeros(n_skus, dtype=np.bool_)
    _echelon_kernel(
        ptr,
        srt["fc_demand_mean"],
        srt["fc_demand_std"],
        srt["fc_lead_time"],
        z,
        srt["fc_holding_cost"],
        srt["fc_service_time"],
        dc_lt,
        dc["dc_inbound_service"],
        dc_z,
        dc["dc_holding_cost"],
        out_sku["dc_service_time"],
        out_sku["dc_safety_stock"],
        out_sku["dc_base_stock"],
        out_sku["cost"],
        tau,
        ss,
        base,
        infeasible,
    )
    if infeasible.any():
        v.fail(
            "fc_service_time",
            "promised service time exceeds the DC's replenishment time plus transit",
            infeasible,
        )
    inv = np.empty(m, dtype=np.int64)
    inv[order] = np.arange(m)
    out = dict(out_sku)
    out["fc_net_time"] = tau[inv]
    out["fc_safety_stock"] = ss[inv]
    out["fc_base_stock"] = base[inv]
    return out

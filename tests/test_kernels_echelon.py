"""Two-echelon guaranteed-service positioning against brute force over the DC's service time."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from kernels import reference
from kernels.echelon import two_echelon_safety_stock


def _network(rng, n_skus, max_fcs):
    sku, mean, std, lt, sl, h, svc = [], [], [], [], [], [], []
    for k in range(n_skus):
        for _ in range(rng.integers(1, max_fcs + 1)):
            sku.append(k)
            mean.append(rng.uniform(1, 50))
            std.append(rng.uniform(0.5, 20))
            lt.append(rng.integers(1, 6))
            sl.append(rng.choice([0.9, 0.95, 0.99]))
            h.append(rng.uniform(0.5, 3))
            svc.append(rng.choice([0, 0, 1]))
    order = rng.permutation(len(sku))  # FCs in any order
    fc = [np.asarray(a, dtype=float)[order] for a in (mean, std, lt, sl, h, svc)]
    dc = (
        rng.integers(2, 15, n_skus).astype(float),
        rng.choice([0.9, 0.95], n_skus),
        rng.uniform(0.2, 2, n_skus),
        rng.integers(0, 3, n_skus).astype(float),
    )
    return np.asarray(sku)[order], fc, dc


def test_chosen_service_time_minimizes_safety_stock_cost_over_a_fine_grid():
    rng = np.random.default_rng(9)
    sku, (mean, std, lt, sl, h, svc), (dc_lt, dc_sl, dc_h, dc_in) = _network(rng, 40, 6)
    out = two_echelon_safety_stock(
        sku,
        mean,
        std,
        lt,
        sl,
        h,
        dc_lt,
        dc_sl,
        dc_h,
        dc_inbound_service=dc_in,
        fc_service_time=svc,
    )
    z = stats.norm.ppf(sl)
    dc_z = stats.norm.ppf(dc_sl)
    for k in range(40):
        m = sku == k
        ub = dc_in[k] + dc_lt[k]
        lb = max(0.0, np.max(svc[m] - lt[m]))
        grid = np.linspace(lb, ub, 401)
        costs = [
            reference.two_echelon_cost(s, std[m], z[m], h[m], lt[m], svc[m], ub, dc_z[k], dc_h[k])
            for s in grid
        ]
        s_k = out["dc_service_time"][k]
        assert s_k in (lb, ub)
        cost_k = reference.two_echelon_cost(
            s_k, std[m], z[m], h[m], lt[m], svc[m], ub, dc_z[k], dc_h[k]
        )
        assert out["cost"][k] == pytest.approx(cost_k, rel=1e-12)
        assert cost_k <= min(costs) + 1e-9
        sigma0 = np.sqrt(np.sum(std[m] ** 2))
        assert out["dc_safety_stock"][k] == pytest.approx(dc_z[k] * sigma0 * np.sqrt(ub - s_k))
        tau = s_k + lt[m] - svc[m]
        np.testing.assert_allclose(out["fc_net_time"][m], tau)
        ss = z[m] * std[m] * np.sqrt(tau)
        np.testing.assert_allclose(out["fc_safety_stock"][m], ss)
        np.testing.assert_allclose(out["fc_base_stock"][m], mean[m] * tau + ss)


def test_cheap_dc_stock_is_held_centrally_and_expensive_dc_stock_is_pushed_out():
    args = dict(
        sku=np.array([0, 0, 0, 1, 1, 1]),
        fc_demand_mean=np.full(6, 10.0),
        fc_demand_std=np.full(6, 5.0),
        fc_lead_time=np.full(6, 2.0),
        fc_service_level=np.full(6, 0.95),
        fc_holding_cost=np.full(6, 1.0),
        dc_lead_time=np.array([10.0, 10.0]),
        dc_service_level=np.array([0.95, 0.95]),
    )
    out = two_echelon_safety_stock(**args, dc_holding_cost=np.array([0.2, 5.0]))
    assert out["dc_service_time"][0] == 0.0  # pooling at a cheap DC: quote zero
    assert out["dc_service_time"][1] == 10.0  # expensive DC: pass the lead time on
    assert out["dc_safety_stock"][1] == 0.0


def test_infeasible_promises_and_bad_inputs_are_named():
    base = dict(
        sku=np.array([0, 1]),
        fc_demand_mean=[1.0, 1.0],
        fc_demand_std=[1.0, 1.0],
        fc_lead_time=[1.0, 1.0],
        fc_service_level=[0.9, 0.9],
        fc_holding_cost=[1.0, 1.0],
        dc_lead_time=[2.0, 2.0],
        dc_service_level=[0.9, 0.9],
        dc_holding_cost=[1.0, 1.0],
    )
    with pytest.raises(ValueError, match=r"fc_service_time: .* at row 1"):
        two_echelon_safety_stock(**base, fc_service_time=[0.0, 4.0])
    with pytest.raises(ValueError, match=r"fc_service_level: must be strictly between 0 and 1"):
        two_echelon_safety_stock(**{**base, "fc_service_level": [0.9, 1.0]})
    with pytest.raises(ValueError, match=r"fc_lead_time: negative value at row 0"):
        two_echelon_safety_stock(**{**base, "fc_lead_time": [-1.0, 1.0]})

"""Two-echelon guaranteed-service positioning against brute force over the DC's service time."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from kernels import reference
from kernels.echelon import two_echelon_safety_stock


def _network(rng, n_skus, max_fcs, step=None):
    """Random DC + FC instances. ``step=None``: integer times; else times on a ``step`` lattice
    (``step=0``: continuous). Promises reach past the transit time and past SI + T + L."""

    def times(lo, hi, size=None):
        if step is None:
            return rng.integers(lo, hi + 1, size).astype(float)
        x = rng.uniform(lo, hi, size)
        return x if step == 0 else np.round(x / step) * step

    dc_lt = times(1, 12, n_skus)
    dc_in = np.where(rng.random(n_skus) < 0.6, times(0, 5, n_skus), 0.0)
    sku, mean, std, lt, sl, h, svc = [], [], [], [], [], [], []
    for k in range(n_skus):
        for _ in range(rng.integers(1, max_fcs + 1)):
            sku.append(k)
            mean.append(rng.uniform(1, 50))
            std.append(rng.uniform(0.5, 20))
            lt.append(times(0, 6))
            sl.append(rng.choice([0.5, 0.9, 0.95, 0.99]))
            h.append(rng.uniform(0.2, 5))
            kind = rng.random()
            if kind < 0.3:
                svc.append(0.0)
            elif kind < 0.85:  # within reach: the kink s - L lies inside [0, SI + T] or below
                svc.append(times(0, dc_lt[k] + dc_in[k] + 6))
            else:  # longer than SI + T + L: that FC never holds stock
                svc.append(dc_lt[k] + dc_in[k] + lt[-1] + times(0, 4))
    order = rng.permutation(len(sku))  # FCs in any order
    fc = [np.asarray(a, dtype=float)[order] for a in (mean, std, lt, sl, h, svc)]
    dc = (dc_lt, rng.choice([0.5, 0.9, 0.95, 0.99], n_skus), rng.uniform(0.1, 4, n_skus), dc_in)
    return np.asarray(sku)[order], fc, dc


def _solve(sku, fc, dc):
    mean, std, lt, sl, h, svc = fc
    dc_lt, dc_sl, dc_h, dc_in = dc
    return two_echelon_safety_stock(
        sku, mean, std, lt, sl, h, dc_lt, dc_sl, dc_h, dc_inbound_service=dc_in, fc_service_time=svc
    )


def _check_against_grid(sku, fc, dc, out, grid_of, exact):
    mean, std, lt, sl, h, svc = fc
    dc_lt, dc_sl, dc_h, dc_in = dc
    z = stats.norm.ppf(sl)
    dc_z = stats.norm.ppf(dc_sl)
    for k in range(dc_lt.shape[0]):
        m = sku == k
        ub = dc_in[k] + dc_lt[k]
        args = (std[m], z[m], h[m], lt[m], svc[m], ub, dc_z[k], dc_h[k])
        s_bf, c_bf = reference.two_echelon_brute_force(grid_of(ub), *args)
        s_k, c_k = out["dc_service_time"][k], out["cost"][k]
        assert 0.0 <= s_k <= ub
        if exact:  # the grid holds every candidate: the optimum itself
            assert c_k == pytest.approx(c_bf, rel=1e-9, abs=1e-9), (k, s_k, s_bf)
        else:  # a grid can only miss the optimum from above
            assert c_k <= c_bf + 1e-9, (k, s_k, s_bf)
        assert c_k == pytest.approx(reference.two_echelon_cost(s_k, *args), rel=1e-9, abs=1e-6)
        # Stage quantities at the chosen S follow the max(..., 0) rule.
        tau = np.maximum(s_k + lt[m] - svc[m], 0.0)
        np.testing.assert_allclose(out["fc_net_time"][m], tau, atol=1e-12)
        ss = z[m] * std[m] * np.sqrt(out["fc_net_time"][m])
        np.testing.assert_allclose(out["fc_safety_stock"][m], ss)
        np.testing.assert_allclose(out["fc_base_stock"][m], mean[m] * out["fc_net_time"][m] + ss)
        np.testing.assert_array_equal(out["fc_safety_stock"][m][svc[m] >= ub + lt[m]], 0.0)
        sigma0 = np.sqrt(np.sum(std[m] ** 2))
        dc_ss = dc_z[k] * sigma0 * np.sqrt(ub - s_k)
        assert out["dc_safety_stock"][k] == pytest.approx(dc_ss, abs=1e-12)
        assert out["dc_base_stock"][k] == pytest.approx(mean[m].sum() * (ub - s_k) + dc_ss)


def test_optimum_equals_brute_force_over_every_integer_service_time():
    rng = np.random.default_rng(9)
    sku, fc, dc = _network(rng, 400, 6)
    out = _solve(sku, fc, dc)
    _check_against_grid(sku, fc, dc, out, lambda ub: np.arange(0.0, ub + 1.0), exact=True)
    # The instances do exercise the cases the model turns on.
    _, _, lt, _, _, svc = fc
    ub = (dc[0] + dc[3])[sku]
    assert (svc > lt).mean() > 0.3 and (svc > ub + lt).any() and (dc[3] > 0).any()
    inside = (out["dc_service_time"] > 0) & (out["dc_service_time"] < dc[0] + dc[3])
    assert inside.any()  # some optima sit at a kink, not at an end


def test_optimum_equals_brute_force_on_a_lattice_of_real_valued_times():
    rng = np.random.default_rng(10)
    step = 0.125  # every time a multiple of 1/8: the grid holds every kink exactly
    sku, fc, dc = _network(rng, 200, 5, step=step)
    out = _solve(sku, fc, dc)
    _check_against_grid(sku, fc, dc, out, lambda ub: np.arange(0.0, ub + step / 2, step), True)


def test_no_point_of_a_fine_grid_beats_the_optimum_with_continuous_times():
    rng = np.random.default_rng(11)
    sku, fc, dc = _network(rng, 150, 5, step=0)
    out = _solve(sku, fc, dc)
    _check_against_grid(sku, fc, dc, out, lambda ub: np.linspace(0.0, ub, 2001), exact=False)


def test_an_fc_whose_promise_covers_its_transit_lets_the_dc_quote_zero():
    # DC: T = 10, cheap. FC0 promises 6 days on a 2-day transit (kink at S = 4), FC1 promises 0.
    # Forcing S >= 4 (as if the promise were an exact time) costs sqrt(6) + sqrt(6) = 4.90;
    # quoting S = 0 costs sqrt(10) + sqrt(2) = 4.58, and FC0 then holds nothing.
    z = stats.norm.ppf(0.95)
    out = two_echelon_safety_stock(
        np.array([0, 0]),
        [10.0, 10.0],
        [1.0 / z, 1.0 / z],
        [2.0, 2.0],
        [0.95, 0.95],
        [1.0, 1.0],
        [10.0],
        [0.95],
        [1.0 / np.sqrt(2.0)],  # DC weight h z sigma_0 = (1 / sqrt 2) z (sqrt 2 / z) = 1
        fc_service_time=[6.0, 0.0],
    )
    assert out["dc_service_time"][0] == 0.0
    assert out["cost"][0] == pytest.approx(np.sqrt(10.0) + np.sqrt(2.0), rel=1e-12)
    np.testing.assert_allclose(out["fc_net_time"], [0.0, 2.0])
    assert out["fc_safety_stock"][0] == 0.0


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


def test_long_promises_are_valid_and_bad_inputs_are_named():
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
    # A promise longer than SI + T + L: that FC holds nothing, whatever the DC quotes.
    out = two_echelon_safety_stock(**base, fc_service_time=[0.0, 4.0])
    assert out["fc_safety_stock"][1] == 0.0 and out["fc_net_time"][1] == 0.0
    assert out["dc_service_time"][1] == 2.0 and out["cost"][1] == 0.0
    with pytest.raises(ValueError, match=r"fc_service_level: must be strictly between 0 and 1"):
        two_echelon_safety_stock(**{**base, "fc_service_level": [0.9, 1.0]})
    with pytest.raises(ValueError, match=r"dc_service_level: must be at least 0.5 .* at row 1"):
        two_echelon_safety_stock(**{**base, "dc_service_level": [0.9, 0.3]})
    with pytest.raises(ValueError, match=r"fc_lead_time: negative value at row 0"):
        two_echelon_safety_stock(**{**base, "fc_lead_time": [-1.0, 1.0]})
    with pytest.raises(ValueError, match=r"fc_service_time: missing or non-finite value at row 1"):
        two_echelon_safety_stock(**base, fc_service_time=[0.0, np.nan])

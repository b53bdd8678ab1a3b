"""Safety stock, reorder levels and order quantities: kernels vs references and vs simulation."""

from __future__ import annotations

import math
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit
from scipy import stats

from kernels import Policy, leadtime, plan, policies, reference
from kernels.leadtime import empirical_lead_time_pmf
from kernels.policies import FILL_RATE, order_quantities, policy_from_samples, round_lot_size

LEVELS = np.array([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])
FAST = settings(max_examples=40, deadline=None)


# --- cycle service from samples --------------------------------------------------------------


def _sample_cases(rng):
    yield rng.gamma(4.0, 5.0, size=(300, 100)).astype(np.float32)
    yield rng.poisson(6.0, size=(300, 100)).astype(np.float64)  # heavy ties
    yield (rng.poisson(0.4, size=(300, 37)) * rng.gamma(2.0, 3.0, size=(300, 37))).astype(
        np.float32
    )  # mostly zeros
    const = np.full((20, 8), 3.5)
    yield const
    # Moments overflow float32 (the first guess is then useless); the selection must not care.
    yield rng.gamma(2.0, 1e36, size=(40, 50)).astype(np.float32)
    # Mostly zeros with a long tail of distinct values: long walks end in partitioning.
    spiky = np.zeros((40, 200))
    spiky[:, :30] = rng.pareto(1.0, size=(40, 30)) * 100
    yield spiky
    yield rng.normal(100.0, 15.0, size=(50, 2)).clip(0)
    yield rng.uniform(0, 10, size=(30, 1))


def test_samples_kernel_matches_the_sorting_reference_and_np_quantile():
    rng = np.random.default_rng(3)
    for x in _sample_cases(rng):
        sl = rng.choice([0.01, 0.2, 0.5, 0.8, 0.9, 0.95, 0.98, 0.999], size=x.shape[0])
        ss, rop = policies.safety_stock_from_samples(x, sl)
        ss_ref, rop_ref = reference.safety_stock_from_samples(x, sl)
        np.testing.assert_allclose(rop, rop_ref, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ss, ss_ref, rtol=1e-9, atol=1e-9)
        want = [np.quantile(r.astype(np.float64), p) for r, p in zip(x, sl)]
        np.testing.assert_allclose(rop, want, rtol=1e-6, atol=1e-6)


def test_negative_zero_samples_are_valid_and_sort_as_zero():
    x = np.array([[-0.0, 0.0, 1.0, 2.0, -0.0, 5.0, 3.0, 0.5]] * 3, dtype=np.float32)
    ss, rop = policies.safety_stock_from_samples(x, [0.1, 0.5, 0.9])
    np.testing.assert_allclose(rop, [np.quantile(x[0], p) for p in (0.1, 0.5, 0.9)])


@FAST
@given(
    data=st.lists(
        st.lists(st.integers(0, 30), min_size=5, max_size=40).map(
            lambda r: [float(v) / 4 for v in r]
        ),
        min_size=1,
        max_size=8,
    ),
    level=st.floats(0.001, 0.999),
)
def test_samples_kernel_agrees_with_np_quantile_on_arbitrary_rows(data, level):
    width = min(len(r) for r in data)
    x = np.array([r[:width] for r in data], dtype=np.float32)
    ss, rop = policies.safety_stock_from_samples(x, level)
    want = np.array([np.quantile(r.astype(np.float64), level) for r in x])
    np.testing.assert_allclose(rop, want, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ss, want - x.astype(np.float64).mean(axis=1), atol=1e-9)


def test_samples_kernel_names_bad_rows():
    x = np.ones((5000, 10))
    x[7, 3] = np.nan
    x[4100, 0] = -2.0
    with pytest.raises(ValueError, match=r"samples: .* rows 7, 4100"):
        policies.safety_stock_from_samples(x, 0.9)
    # A NaN or infinity with the sign bit set, beside -0.0 (which is valid).
    x = np.ones((6, 10), dtype=np.float32)
    x[:, 0] = -0.0
    x[2, 5] = -np.nan
    x[4, 1] = -np.inf
    with pytest.raises(ValueError, match=r"samples: .* rows 2, 4$"):
        policies.safety_stock_from_samples(x, 0.9)
    with pytest.raises(ValueError, match=r"service_level: .* at row 1$"):
        policies.safety_stock_from_samples(np.ones((3, 4)), [0.5, 1.0, 0.5])
    with pytest.raises(ValueError, match=r"service_level: has 2 rows, expected 3"):
        policies.safety_stock_from_samples(np.ones((3, 4)), [0.5, 0.5])


# --- cycle service from quantile tables ---------------------------------------------------------


def _random_tables(rng, n):
    base = rng.gamma(2.0, 20.0, size=(n, 1))
    spread = rng.gamma(2.0, 0.2, size=(n, 1)) * base
    q = base + spread * stats.norm.ppf(LEVELS)[None, :] + rng.normal(0, 2, size=(n, 7))
    q[::7] = q[::7][:, ::-1]  # crossing quantiles
    q[::11, :3] = -1.0  # negative lower quantiles
    return q


def test_quantile_kernel_matches_vectorized_reference():
    rng = np.random.default_rng(5)
    q = _random_tables(rng, 2000)
    sl = rng.choice([0.02, 0.07, 0.3, 0.5, 0.9, 0.95, 0.97, 0.999], size=2000)
    for dtype in (np.float64, np.float32):
        ss, rop = policies.safety_stock_from_quantiles(q.astype(dtype), LEVELS, sl)
        ss_ref, rop_ref = reference.safety_stock_from_quantiles(q.astype(dtype), LEVELS, sl)
        np.testing.assert_allclose(rop, rop_ref, rtol=1e-11, atol=1e-9)
        np.testing.assert_allclose(ss, ss_ref, rtol=1e-9, atol=1e-8)


def test_quantile_distribution_mean_cdf_and_loss_match_numerical_integration():
    rng = np.random.default_rng(6)
    q = _random_tables(rng, 12)
    means = policies.mean_from_quantiles(q, LEVELS)
    for row, mean in zip(q, means):
        assert mean == pytest.approx(reference.table_loss(row, LEVELS, 0.0), rel=1e-7, abs=1e-7)
    # The general kernel's fill-rate level solves the loss equation the reference integrates.
    res = policies.policy_from_quantiles(
        q[:, None, :],
        LEVELS,
        np.tile([0.0, 1.0], (12, 1)),
        shift=10.0,
        service_level=0.9,
        service_type=policies.FILL_RATE,
    )
    for row, s, fill in zip(q, res["level"], res["fill_rate"]):
        short = reference.table_loss(row, LEVELS, s) - reference.table_loss(row, LEVELS, s + 10)
        if s > 0:
            assert short == pytest.approx(0.1 * 10.0, rel=1e-6)
            assert fill == pytest.approx(0.9, abs=1e-9)
        assert reference.table_cdf(row, LEVELS, s) == pytest.approx(
            res["cycle_service"][list(res["level"]).index(s)], abs=1e-9
        )


def test_quantile_mixture_over_lead_times_matches_root_finding_reference():
    rng = np.random.default_rng(12)
    horizons = np.arange(1, 5)
    base = rng.uniform(5, 15, size=(3, 1, 1))
    z = stats.norm.ppf(LEVELS)[None, None, :]
    cum = base * horizons[None, :, None] + 0.4 * base * np.sqrt(horizons)[None, :, None] * (
        z + 0.2 * z**2
    )
    w_a = np.array([[0, 0, 0.2, 0.5, 0.3], [0, 0.1, 0.3, 0.6, 0.0], [0, 0, 0, 0.5, 0.5]])
    w_b = np.array([[0, 0.2, 0.5, 0.3, 0], [0, 0.1, 0.3, 0.6, 0.0], [0.5, 0.5, 0, 0, 0]])
    shift = np.array([0.0, 12.0, 0.0])
    for stype in (policies.CYCLE, policies.FILL_RATE):
        sl = np.array([0.9, 0.95, 0.97])
        got = policies.policy_from_quantiles(
            cum, LEVELS, w_a, w_b, shift=shift, service_level=sl, service_type=stype
        )
        want = reference.policy_from_quantiles(cum, LEVELS, w_a, w_b, shift, sl, [stype] * 3)
        for k in ("level", "mean", "cycle_service", "fill_rate"):
            np.testing.assert_allclose(got[k], want[k], rtol=1e-6, atol=1e-6, err_msg=k)


def test_normal_quantile_tables_reproduce_the_normal_exactly():
    mu, sigma = 120.0, 25.0
    q = stats.norm.ppf(LEVELS, mu, sigma)[None, :].repeat(6, axis=0)
    sl = np.array([0.01, 0.05, 0.3, 0.9, 0.99, 0.9999])
    ss, rop = policies.safety_stock_from_quantiles(q, LEVELS, sl)
    np.testing.assert_allclose(rop, stats.norm.ppf(sl, mu, sigma), rtol=1e-12)
    # Flooring demand at zero adds E[max(-X, 0)] = sigma * L(mu / sigma) to the mean.
    floor = sigma * (stats.norm.pdf(mu / sigma) - mu / sigma * stats.norm.sf(mu / sigma))
    np.testing.assert_allclose(ss, stats.norm.ppf(sl) * sigma - floor, rtol=1e-9, atol=1e-9)


def test_tied_top_quantiles_keep_an_upper_tail_for_targets_beyond_the_top_level():
    # Whole-count quantiles of a slow mover (Poisson, mean 0.3) tie at the top: 0.8 / 0.9 / 0.95
    # are all 1 unit. The table says P(X <= 1) >= 0.95, nothing about the last 5%; continuing
    # the flat last segment put no mass above 1, so a 99% plan stocked 1 unit (96.3% by scipy)
    # and reported 100% cycle service.
    levels = np.array([0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    q = stats.poisson(0.3).ppf(levels)
    assert (q[-3:] == 1).all() and stats.poisson(0.3).cdf(1) < 0.99
    weights = np.tile([0.0, 1.0], (2, 1))
    nudged = q.copy()
    nudged[-1] += 1e-9  # a top knot a hair above the one below: the tail must not jump
    got = policies.policy_from_quantiles(
        np.stack([q, nudged])[:, None, :], levels, weights, service_level=0.99
    )
    assert (got["level"] > 1.0).all()
    # The whole-count table plans whole units (2, 99.6% by scipy); the nudged one, no longer
    # whole, keeps its fractional level at exactly 99%.
    assert got["level"][0] == 2.0 and got["cycle_service"][0] >= 0.99
    assert stats.poisson(0.3).cdf(2) >= 0.99
    np.testing.assert_allclose(got["cycle_service"][1], 0.99, atol=1e-9)
    # ... and the tail does not jump: the nudged row's level rounds up to the same unit.
    assert np.ceil(got["level"][1]) == got["level"][0]
    # Stocking the top knot itself serves what the table says of it (95%), with a shortfall.
    at_top = policies.policy_from_quantiles(
        q[None, None, :], levels, weights[:1], shift=1.0, service_level=0.95
    )
    assert at_top["level"][0] == 1.0
    assert at_top["cycle_service"][0] == pytest.approx(0.95, abs=1e-9)
    assert at_top["fill_rate"][0] < 1.0
    _, rop = policies.safety_stock_from_quantiles(np.stack([q, nudged]), levels, 0.99)
    # The lean cycle kernel has no whole-unit rule (nor has its samples twin).
    np.testing.assert_allclose(rop[1], got["level"][1], rtol=1e-9)
    assert np.ceil(rop[0]) == got["level"][0]


def test_quantile_kernel_names_bad_rows_and_levels():
    q = np.ones((10, 7))
    q[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"quantiles: .* row 3"):
        policies.safety_stock_from_quantiles(q, LEVELS, 0.9)
    with pytest.raises(ValueError, match="levels: must be strictly increasing"):
        policies.safety_stock_from_quantiles(np.ones((2, 3)), [0.1, 0.5, 0.4], 0.9)
    with pytest.raises(ValueError, match=r"quantiles: expected shape \(n_rows, 7\)"):
        policies.safety_stock_from_quantiles(np.ones((2, 6)), LEVELS, 0.9)


def test_quantile_draws_check_levels_values_and_probabilities():
    from kernels.quantiles import quantile_draws

    # The draws follow the table (the reference: the normal-score line through the knots).
    got = quantile_draws([[1.0, 5.0, 9.0]], [0.1, 0.5, 0.9], [[0.5, 0.9]])
    np.testing.assert_allclose(got, [[5.0, 9.0]])
    # Decreasing levels drew 6.64 at u = 0.3 and 3.36 at u = 0.7; a NaN value drew NaN at 0.3
    # and 5 at 0.5; u = 0 drew NaN from a flat row; one level read its constants out of range.
    with pytest.raises(ValueError, match="levels: must be strictly increasing"):
        quantile_draws([[1.0, 5.0, 9.0]], [0.9, 0.5, 0.1], [[0.3, 0.7]])
    with pytest.raises(ValueError, match=r"values: missing or non-finite value at row 0"):
        quantile_draws([[np.nan, 5.0, 9.0]], [0.1, 0.5, 0.9], [[0.3, 0.5]])
    with pytest.raises(ValueError, match=r"u: must be strictly between 0 and 1 at row 0"):
        quantile_draws([[5.0, 5.0, 5.0]], [0.1, 0.5, 0.9], [[0.0, 0.5]])
    with pytest.raises(ValueError, match="levels: need at least two"):
        quantile_draws([[5.0]], [0.5], [[0.3]])
    with pytest.raises(ValueError, match=r"values: expected 3 columns, got 2"):
        quantile_draws([[5.0, 6.0]], [0.1, 0.5, 0.9], [[0.3]])


# --- monotonicity in the service level --------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    lo=st.floats(0.01, 0.98),
    gap=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**16),
    fill=st.booleans(),
)
def test_higher_service_level_never_lowers_safety_stock(lo, gap, seed, fill):
    hi = min(lo + gap, 0.99)
    rng = np.random.default_rng(seed)
    stype = policies.FILL_RATE if fill else policies.CYCLE
    a = rng.gamma(3.0, 4.0, size=(4, 64))
    b = a * rng.uniform(0.3, 0.9, size=(4, 1))
    q = np.sort(_random_tables(rng, 4), axis=1)
    outs = []
    for level in (lo, hi):
        r = [
            policies.policy_from_samples(a, b, service_level=level, service_type=stype)["level"],
            policies.policy_from_samples(a, shift=5.0, service_level=level, service_type=stype)[
                "level"
            ],
            policies.policy_from_quantiles(
                np.stack([q * 0.5, q], axis=1),
                LEVELS,
                np.tile([0.0, 0.3, 0.7], (4, 1)),
                np.tile([0.0, 1.0, 0.0], (4, 1)),
                service_level=level,
                service_type=stype,
            )["level"],
        ]
        for shape in policies.SHAPES:
            r.append(
                policies.policy_parametric(
                    [50.0, 3.0, 400.0],
                    [15.0, 2.5, 30.0],
                    shift=[20.0, 2.0, 40.0],
                    service_level=level,
                    service_type=stype,
                    shape=shape,
                )["level"]
            )
        if not fill:
            r.append(policies.safety_stock_from_samples(a, level)[0])
            r.append(policies.safety_stock_from_quantiles(q, LEVELS, level)[0])
        outs.append(r)
    for low, high in zip(*outs):
        assert np.all(high >= low - 1e-9 * np.maximum(1.0, np.abs(low)))


# --- general policies against SciPy references -------------------------------------------------


@pytest.mark.parametrize("shape", ["normal", "gamma", "negbin"])
def test_parametric_policy_matches_scipy_reference(shape):
    mean_a = np.array([50.0, 50.0, 160.0, 160.0, 4.0, 0.0])
    std_a = np.array([15.0, 15.0, 30.0, 30.0, 3.0, 0.0])
    mean_b = np.array([50.0, 50.0, 100.0, 100.0, 4.0, 0.0])
    std_b = np.array([15.0, 15.0, 24.0, 24.0, 3.0, 0.0])
    shift = np.array([30.0, 30.0, 0.0, 0.0, 6.0, 0.0])
    sl = np.array([0.95, 0.97, 0.9, 0.99, 0.8, 0.9])
    stype = np.array([0, 1, 0, 1, 1, 1])
    got = policies.policy_parametric(
        mean_a, std_a, mean_b, std_b, shift=shift, service_level=sl, service_type=stype, shape=shape
    )
    want = reference.policy_parametric(mean_a, std_a, mean_b, std_b, shift, sl, stype, shape)
    np.testing.assert_allclose(got["level"], want["level"], rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(got["cycle_service"], want["cycle_service"], atol=1e-8)
    np.testing.assert_allclose(got["fill_rate"], want["fill_rate"], atol=1e-7)
    fill_rows = (stype == 1) & (mean_a > 0)
    if shape != "negbin":
        np.testing.assert_allclose(got["fill_rate"][fill_rows], sl[fill_rows], atol=1e-8)
    else:
        assert np.all(got["fill_rate"][fill_rows] >= sl[fill_rows] - 1e-12)


def test_normal_cycle_service_is_the_textbook_formula():
    d, sd, lt, slt = 20.0, 6.0, 9.0, 2.0
    mom = leadtime.lead_time_demand_moments(d, sd, lt, slt)
    res = policies.policy_parametric(mom["mean_l"], mom["std_l"], service_level=0.95)
    expect = stats.norm.ppf(0.95) * math.sqrt(lt * sd**2 + d**2 * slt**2)
    assert res["level"][0] - res["mean"][0] == pytest.approx(expect, rel=1e-12)


def test_sample_policy_matches_root_finding_reference():
    rng = np.random.default_rng(8)
    b = rng.gamma(3.0, 10.0, size=(30, 200))
    a = b + rng.gamma(2.0, 10.0, size=(30, 200))
    sl = rng.uniform(0.6, 0.995, size=30)
    stype = rng.integers(0, 2, size=30)
    for args, shift in (((a, b), 0.0), ((b,), 40.0)):
        got = policies.policy_from_samples(*args, shift=shift, service_level=sl, service_type=stype)
        bb = args[-1]
        want = reference.policy_from_samples(args[0], bb, np.full(30, shift), sl, stype)
        for k in ("level", "mean", "cycle_service", "fill_rate"):
            np.testing.assert_allclose(got[k], want[k], rtol=1e-8, atol=1e-8, err_msg=k)


def test_policy_errors_name_the_field():
    with pytest.raises(ValueError, match=r"service_type: must be 0 \(cycle\) or 1"):
        policies.policy_parametric([1.0], [1.0], service_level=0.9, service_type=[2])
    with pytest.raises(ValueError, match=r"std_a: negative value at row 1"):
        policies.policy_parametric([1.0, 2.0], [1.0, -1.0], service_level=0.9)
    with pytest.raises(ValueError, match="weights_a: weights must sum to 1"):
        policies.policy_from_quantiles(
            np.ones((1, 2, 7)), LEVELS, [[0.5, 0.2, 0.2]], service_level=0.9
        )
    with pytest.raises(ValueError, match="shape: must be one of"):
        policies.policy_parametric([1.0], [1.0], service_level=0.9, shape="weibull")


def test_fill_rate_without_demand_per_cycle_is_named_not_reported_as_perfect():
    # Periodic review compares D_{L+R} (A) with D_L (B); given in the other order, the demand per
    # cycle m = E[A] - E[B] is <= 0 and no fill rate is defined. It used to come back as level 0
    # and fill rate 1.0.
    fill = policies.FILL_RATE
    kw = dict(service_level=0.95, service_type=fill)
    with pytest.raises(policies.NoCycleDemandError, match=r"mean_b: fill-rate rows .* rows 0, 1$"):
        policies.policy_parametric([50.0, 50.0, 80.0], 10.0, [60.0, 50.0, 50.0], 8.0, **kw)
    rng = np.random.default_rng(3)
    a = rng.gamma(3.0, 10.0, size=(3, 200))
    b = a * np.array([[0.5], [1.2], [0.7]])
    with pytest.raises(ValueError, match=r"b: fill-rate rows need demand per .* at row 1$"):
        policies.policy_from_samples(a, b, **kw)
    q = np.sort(_random_tables(rng, 2), axis=1)
    cum = np.stack([q, q * 2.0], axis=1)
    early, late = [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]  # horizon 1 or 2
    with pytest.raises(ValueError, match=r"weights_b: fill-rate rows .* at row 1$"):
        policies.policy_from_quantiles(cum, LEVELS, [late, early], [early, late], **kw)
    # B = A (continuous review) needs the lot size in ``shift``.
    with pytest.raises(ValueError, match=r"shift: fill-rate rows with B = A .* at row 0$"):
        policies.policy_parametric([50.0], [10.0], **kw)
    with pytest.raises(ValueError, match=r"shift: fill-rate rows with B = A .* at row 0$"):
        policies.policy_from_samples(a[:1], **kw)
    # A row with no demand at all is fine: nothing to stock, nothing short.
    for res in (
        policies.policy_parametric([0.0, 80.0], [0.0, 10.0], [0.0, 50.0], [0.0, 8.0], **kw),
        policies.policy_from_samples(np.zeros((1, 5)), np.zeros((1, 5)), **kw),
    ):
        assert res["level"][0] == 0.0 and res["fill_rate"][0] == 1.0
    # Cycle-service rows keep their level but do not invent a fill rate.
    res = policies.policy_parametric(
        [50.0, 80.0], 10.0, [60.0, 50.0], 8.0, service_level=0.95, service_type=policies.CYCLE
    )
    assert res["level"][0] == pytest.approx(50.0 + stats.norm.ppf(0.95) * 10.0, rel=1e-12)
    assert math.isnan(res["fill_rate"][0]) and 0.0 < res["fill_rate"][1] < 1.0


@pytest.mark.parametrize("shape", [policies.NORMAL, policies.GAMMA, policies.NEGBIN])
def test_distribution_helpers_return_nan_for_a_negative_or_nan_std(shape):
    for sd in (-1.0, math.nan):
        assert math.isnan(policies.dist_ppf(shape, 0.9, 10.0, sd))
        assert math.isnan(policies.dist_cdf(shape, 12.0, 10.0, sd))
        assert math.isnan(policies.dist_loss(shape, 12.0, 10.0, sd))
    assert math.isnan(policies.dist_loss(shape, 12.0, math.nan, 3.0))
    assert math.isnan(policies.dist_ppf(shape, math.nan, 10.0, 3.0))
    assert policies.dist_ppf(shape, 0.9, 10.0, 0.0) == 10.0  # a point mass is still fine
    assert policies.dist_loss(shape, 4.0, 10.0, 0.0) == 6.0
    name = {v: k for k, v in policies.SHAPES.items()}[shape]
    with pytest.raises(ValueError, match=r"std_b: missing or non-finite value at row 1"):
        policies.policy_parametric(
            [5.0, 5.0], [1.0, 1.0], [3.0, 3.0], [1.0, np.nan], service_level=0.9, shape=name
        )
    with pytest.raises(ValueError, match=r"std: negative value at row 1"):
        policies.newsvendor_quantity(
            mean=[5.0, 5.0], std=[1.0, -1.0], underage_cost=1.0, overage_cost=1.0, shape=name
        )


# --- Monte Carlo: the fill-rate and (R, S) formulas against a simulation of the policy ---------


def _simulate_periodic(order_up_to, lead, review, k, theta, n_reps, n_cycles, seed):
    """(R, S) with backorders, gamma daily demand; returns per-replication fill and no-stockout."""
    rng = np.random.default_rng(seed)
    warm = 2 * review + lead
    days = warm + n_cycles * review
    arrivals = np.zeros((days + lead + 1, n_reps))
    net = np.full(n_reps, float(order_up_to))
    served = np.zeros(n_reps)
    demanded = np.zeros(n_reps)
    ok_cycles = np.zeros(n_reps)
    cycles = 0
    for t in range(days):
        net += arrivals[t]
        if t % review == 0:
            position = net + arrivals[t + 1 : t + lead + 1].sum(axis=0)
            arrivals[t + lead] += np.maximum(order_up_to - position, 0.0)
        d = rng.gamma(k, theta, size=n_reps)
        if t >= warm:
            served += np.minimum(d, np.maximum(net, 0.0))
            demanded += d
        net -= d
        # End of the day before an order arrives: the end of a replenishment cycle.
        if t >= warm and (t + 1 - lead) % review == 0:
            ok_cycles += net >= 0
            cycles += 1
    return served / demanded, ok_cycles / cycles, served.sum() / demanded.sum()


@pytest.mark.parametrize("stype,target", [(policies.FILL_RATE, 0.95), (policies.CYCLE, 0.9)])
def test_periodic_review_formulas_agree_with_simulation(stype, target):
    k, theta, lead, review = 2.0, 5.0, 3, 5  # daily demand Gamma(2, 5): mean 10, sd 7.07
    sd_day = math.sqrt(k) * theta
    res = policies.policy_parametric(
        [k * theta * (lead + review)],
        [sd_day * math.sqrt(lead + review)],
        [k * theta * lead],
        [sd_day * math.sqrt(lead)],
        service_level=target,
        service_type=stype,
        shape="gamma",
    )
    fill_reps, csl_reps, fill = _simulate_periodic(
        res["level"][0], lead, review, k, theta, n_reps=2000, n_cycles=40, seed=11
    )
    se_fill = fill_reps.std(ddof=1) / math.sqrt(fill_reps.size)
    se_csl = csl_reps.std(ddof=1) / math.sqrt(csl_reps.size)
    assert abs(fill - res["fill_rate"][0]) < 4 * se_fill
    assert abs(csl_reps.mean() - res["cycle_service"][0]) < 4 * se_csl
    if stype == policies.FILL_RATE:
        assert res["fill_rate"][0] == pytest.approx(target, abs=1e-9)


@njit(cache=False)
def _simulate_rq(gaps, lead, r, q, n_batches):
    # Continuous review, unit Poisson demand (exponential gaps), fixed lead time, backorders:
    # order q when the inventory position drops to r. Returns the fill rate per batch and the
    # fraction of order arrivals that find no backorder.
    n_demands = gaps.shape[0]
    pending = np.empty(n_demands // max(q, 1) + 8)
    head = 0
    tail = 0
    net = r + q
    position = r + q
    t = 0.0
    warm = n_demands // 10
    per = (n_demands - warm) // n_batches
    fills = np.zeros(n_batches)
    arrived = 0
    covered = 0
    for i in range(n_demands):
        t += gaps[i]
        while head < tail and pending[head] <= t:
            if i >= warm:
                arrived += 1
                covered += net >= 0
            net += q
            head += 1
        if i >= warm:
            b = (i - warm) // per
            if b < n_batches and net > 0:
                fills[b] += 1.0
        net -= 1
        position -= 1
        if position <= r:
            position += q
            pending[tail] = t + lead
            tail += 1
    return fills / per, covered / max(arrived, 1)


def test_continuous_review_fill_rate_agrees_with_simulation():
    rate, lead, q, target = 4.0, 5.0, 15, 0.95  # lead-time demand Poisson(20)
    mean = rate * lead
    res = policies.policy_parametric(
        [mean],
        [math.sqrt(mean)],
        shift=float(q),
        service_level=target,
        service_type=policies.FILL_RATE,
        shape="negbin",
    )
    r = int(res["level"][0])
    assert r == res["level"][0]
    assert res["fill_rate"][0] >= target
    gaps = np.random.default_rng(5).exponential(1.0 / rate, size=400_000)
    fills, covered = _simulate_rq(gaps, lead, r, q, 50)
    se = fills.std(ddof=1) / math.sqrt(fills.size)
    assert abs(fills.mean() - res["fill_rate"][0]) < 4 * se + 1e-4
    # Cycle service: no backorder just before an order arrives, P(D_L <= r).
    assert covered == pytest.approx(res["cycle_service"][0], abs=0.01)


# --- parametric vs sample-based lead-time demand ---------------------------------------------


def test_parametric_and_sample_based_lead_time_demand_agree_on_normal_data():
    rng = np.random.default_rng(21)
    d, sd, lt, slt, n = 50.0, 10.0, 6.0, 1.2, 40_000
    paths = rng.normal(d, sd, size=(1, n, 12))
    draws = np.clip(rng.normal(lt, slt, size=(1, n)), 0.0, 12.0)
    a, _ = leadtime.lead_time_demand_samples(paths, draws)
    mom = leadtime.lead_time_demand_moments(d, sd, lt, slt)
    assert a.mean() == pytest.approx(mom["mean_l"][0], abs=4 * mom["std_l"][0] / math.sqrt(n))
    assert a.std() == pytest.approx(mom["std_l"][0], rel=0.02)
    for level in (0.9, 0.95):
        ss_samples = policies.safety_stock_from_samples(a, level)[0][0]
        ss_param = stats.norm.ppf(level) * mom["std_l"][0]
        # The sample quantile's standard error is about sqrt(p(1-p)/n) / density ~ 0.7 here.
        assert ss_samples == pytest.approx(ss_param, abs=3.5)
    # Cumulative quantiles of normal demand at a fixed lead time reproduce z * sigma exactly.
    horizons = np.arange(1, 13)
    cum = stats.norm.ppf(LEVELS[None, :], d * horizons[:, None], sd * np.sqrt(horizons)[:, None])
    w = np.zeros((1, 13))
    w[0, 6] = 1.0
    res = policies.policy_from_quantiles(cum[None], LEVELS, w, service_level=0.95)
    assert res["level"][0] - res["mean"][0] == pytest.approx(
        stats.norm.ppf(0.95) * sd * math.sqrt(6), rel=1e-9
    )


def test_sample_paths_sum_a_random_number_of_days_per_path():
    paths = np.arange(1.0, 11.0)[None, None, :].repeat(2, axis=1)  # day t has demand t
    a, b = leadtime.lead_time_demand_samples(paths, [[2.0, 3.5]], review_period=2.0)
    np.testing.assert_allclose(b, [[1 + 2, 1 + 2 + 3 + 0.5 * 4]])
    np.testing.assert_allclose(a, [[1 + 2 + 3 + 4, 1 + 2 + 3 + 4 + 5 + 0.5 * 6]])
    with pytest.raises(ValueError, match=r"lead_times: lead time \+ review period exceeds"):
        leadtime.lead_time_demand_samples(paths, [[2.0, 9.5]], review_period=1.0)


def test_horizon_weights_shift_by_the_review_period_and_flag_short_forecasts():
    pmf = leadtime.lead_time_pmf([3.0, 2.5], [0.0, 0.0], 10)
    np.testing.assert_allclose(pmf[0, 3], 1.0)
    np.testing.assert_allclose(pmf[1, [2, 3]], [0.5, 0.5])
    w_a, w_b = leadtime.horizon_weights(pmf, [2, 0], 10)
    assert w_a[0, 5] == 1.0 and w_b[0, 3] == 1.0
    np.testing.assert_allclose(w_a[1], w_b[1])
    gamma_pmf = leadtime.lead_time_pmf([5.0], [2.0], 40)
    assert gamma_pmf.sum() == pytest.approx(1.0, abs=1e-9)
    assert (np.arange(41) * gamma_pmf[0]).sum() == pytest.approx(5.0, abs=0.05)
    with pytest.raises(ValueError, match=r"lead_time: .* exceeds the forecast horizon .* row 0"):
        leadtime.horizon_weights(leadtime.lead_time_pmf([9.0], [0.0], 12), 3, 10)


# --- order quantities and newsvendor ----------------------------------------------------------


def test_order_rules_on_hand_picked_rows():
    rule = ["rQ", "rQ", "rQ", "rQ", "sS", "sS", "RS", "RS"]
    qty = policies.order_quantities(
        [10.0, -15.0, 11.0, 9.5, -5.0, 11.0, 39.5, 40.0],
        rule=rule,
        reorder_point=[10.0, 10.0, 10.0, 10.0, 10.0, 10.0, np.nan, np.nan],
        order_up_to=[np.nan, np.nan, np.nan, np.nan, 40.0, 40.0, 40.0, 40.0],
        lot_size=[12.0, 12.0, 12.0, 12.0, np.nan, np.nan, np.nan, np.nan],
        case_pack=[6.0, 6.0, 6.0, 6.0, 12.0, 12.0, 6.0, 6.0],
        moq=[12.0, 0.0, 0.0, 0.0, 60.0, 0.0, 0.0, 0.0],
    )
    # (r, Q): one lot lifts 10 to 22; -15 needs three lots (to 21), not "up to r + Q = 22"
    # rounded to packs (42); above r nothing. (s, S): MOQ 60 beats the need of 45. (R, S): 0.5 is
    # one pack; at S nothing.
    np.testing.assert_allclose(qty, [12.0, 36.0, 0.0, 12.0, 60.0, 0.0, 6.0, 0.0])


def test_rq_orders_whole_lots_that_lift_the_position_into_r_r_plus_q():
    rng = np.random.default_rng(2)
    n = 3000
    pack = rng.integers(1, 13, n).astype(float)
    moq = rng.choice([0.0, 24.0, 50.0], n)
    lot = policies.round_lot_size(rng.uniform(0.5, 60, n), pack, moq)
    assert np.all(np.mod(lot, pack) == 0) and np.all(lot >= moq) and np.all(lot >= pack)
    r = np.where(rng.random(n) < 0.5, rng.integers(0, 100, n), rng.uniform(0, 100, n))
    ip = np.where(rng.random(n) < 0.5, rng.integers(-200, 150, n), rng.uniform(-200, 150, n))
    ip[:50] = r[:50]  # exactly at r: due
    s = r + rng.uniform(0, 50, n)
    rule = rng.choice(["rQ", "sS", "RS"], n)
    got = policies.order_quantities(
        ip,
        rule=rule,
        reorder_point=r,
        order_up_to=s,
        lot_size=lot,
        case_pack=pack,
        moq=moq,
    )
    want = reference.order_quantities(rule, ip, r, s, lot, pack, moq)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    rq = rule == "rQ"
    due = rq & (ip <= r)
    assert due.sum() > 500
    n_lots = got[rq] / lot[rq]
    np.testing.assert_allclose(n_lots, np.round(n_lots), atol=1e-12)
    after = ip + got
    assert np.all(after[due] > r[due]) and np.all(after[due] <= r[due] + lot[due])
    assert np.all(got[rq & ~due] == 0)
    other = ~rq & (got > 0)
    assert np.all(np.mod(got[other], pack[other]) == 0) and np.all(got[other] >= moq[other])


def test_rq_positions_are_uniform_on_r_r_plus_q_under_batch_demand():
    # The (r, Q) formulas rest on the position being uniform on r + 1 .. r + Q (integer demand).
    # Simulate many independent replications with demand in batches of 1..5 units: a rule that
    # ordered up to r + Q would pile the positions up at r + Q instead.
    rng = np.random.default_rng(4)
    r, q, reps, steps, warm = 20.0, 7.0, 2000, 160, 40
    position = np.full(reps, r + q)
    seen = []
    for t in range(steps):
        position -= rng.integers(1, 6, reps)
        qty = policies.order_quantities(position, rule="rQ", reorder_point=r, lot_size=q)
        np.testing.assert_allclose(np.mod(qty, q), 0.0)
        position += qty
        assert np.all((position > r) & (position <= r + q))
        if t >= warm:
            seen.append(position.copy())
    freq = np.bincount((np.concatenate(seen) - r - 1).astype(int), minlength=int(q)) / (
        reps * (steps - warm)
    )
    np.testing.assert_allclose(freq, 1.0 / q, atol=0.01)


def test_order_quantities_name_bad_fields():
    with pytest.raises(ValueError, match=r"case_pack: value must be > 0 at row 0"):
        policies.order_quantities([0.0], rule="RS", order_up_to=[2.0], case_pack=0.0)
    with pytest.raises(
        ValueError, match=r"lot_size: an \(r, Q\) lot size must be a whole .* row 1"
    ):
        policies.order_quantities(
            [0.0, 0.0], rule="rQ", reorder_point=5.0, lot_size=[12.0, 10.0], case_pack=6.0
        )
    with pytest.raises(ValueError, match=r"lot_size: an \(r, Q\) lot size .* at row 0"):
        policies.order_quantities([0.0], rule="rQ", reorder_point=5.0, lot_size=12.0, moq=24.0)
    with pytest.raises(ValueError, match=r"lot_size: missing or non-finite value at row 1"):
        policies.order_quantities([0.0, 0.0], rule=["RS", "rQ"], order_up_to=3.0, reorder_point=1.0)
    with pytest.raises(ValueError, match=r"rule: must be one of rQ, sS, RS at row 1"):
        policies.order_quantities([0.0, 0.0], rule=["RS", "Rs"], order_up_to=3.0)
    with pytest.raises(ValueError, match=r"order_up_to: below the reorder point at row 0"):
        policies.order_quantities([0.0], rule="sS", reorder_point=3.0, order_up_to=2.0)


def test_newsvendor_quantity_is_the_critical_fractile():
    ratio = policies.critical_ratio([3.0, 1.0], [1.0, 1.0])
    np.testing.assert_allclose(ratio, [0.75, 0.5])
    q = policies.newsvendor_quantity(
        mean=[100.0, 100.0],
        std=[20.0, 20.0],
        underage_cost=[3.0, 1.0],
        overage_cost=1.0,
        shape="gamma",
    )
    np.testing.assert_allclose(q, stats.gamma.ppf([0.75, 0.5], 25.0, scale=4.0), rtol=1e-10)
    x = np.random.default_rng(0).gamma(25.0, 4.0, size=(2, 1000))
    qs = policies.newsvendor_quantity(x, underage_cost=[3.0, 1.0], overage_cost=[1.0, 1.0])
    np.testing.assert_allclose(qs, [np.quantile(x[0], 0.75), np.quantile(x[1], 0.5)])


def test_newsvendor_inputs_of_the_wrong_length_or_without_an_optimum_are_named():
    with pytest.raises(ValueError, match=r"overage_cost: has 2 rows, expected 3"):
        policies.critical_ratio([3.0, 1.0, 2.0], [1.0, 1.0])
    with pytest.raises(ValueError, match=r"underage_cost: has 3 rows, expected 2"):
        policies.newsvendor_quantity(
            mean=[100.0, 100.0], std=20.0, underage_cost=[3.0, 1.0, 2.0], overage_cost=1.0
        )
    x = np.ones((2, 10))
    with pytest.raises(ValueError, match=r"overage_cost: has 3 rows, expected 2"):
        policies.newsvendor_quantity(x, underage_cost=1.0, overage_cost=[1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"std: has 3 rows, expected 2"):
        policies.newsvendor_quantity(
            mean=[100.0, 100.0], std=[1.0, 2.0, 3.0], underage_cost=1.0, overage_cost=1.0
        )
    # No overage cost: no finite optimum. No underage cost: order nothing.
    with pytest.raises(ValueError, match=r"overage_cost: 0 or negligible: .* at row 1"):
        policies.newsvendor_quantity(
            mean=[100.0, 100.0], std=20.0, underage_cost=1.0, overage_cost=[1.0, 0.0]
        )
    q = policies.newsvendor_quantity(
        mean=[100.0, 100.0], std=20.0, underage_cost=[0.0, 1.0], overage_cost=1.0
    )
    np.testing.assert_allclose(q, [0.0, 100.0])


def test_newsvendor_on_whole_unit_samples_orders_the_cost_minimizing_whole_quantity():
    # Independent reference: the expected cost over the samples, minimized by brute force over
    # every whole order. The linear quantile ordered 19.525 of 1..20 at a ratio of 0.975 (cost
    # 9.975 against 9.5 for 20) and 7.5 of {0, 10} at 0.75 (cost 7.5 against 5 for 10).
    rows = [(np.arange(1.0, 21.0), 39.0, 1.0), (np.array([0.0, 10.0]), 3.0, 1.0),
            (np.array([0.0, 0.0, 1.0, 2.0, 2.0, 5.0]), 1.0, 1.0),
            (np.array([4.0, 4.0, 4.0, 7.0]), 2.0, 3.0)]  # fmt: skip
    for x, cu, co in rows:
        q = policies.newsvendor_quantity(x[None, :], underage_cost=cu, overage_cost=co)[0]

        def cost(order, x=x, cu=cu, co=co):
            return (cu * np.maximum(x - order, 0) + co * np.maximum(order - x, 0)).mean()

        best = min(cost(k) for k in range(int(x.max()) + 1))
        # Ties (a ratio the CDF meets exactly) leave a flat optimum: any order on it will do, and
        # whole-unit stock acts as the whole number below a fractional order.
        assert cost(q) == pytest.approx(best, abs=1e-12), (x, q)
        assert cost(np.floor(q)) == pytest.approx(best, abs=1e-12), (x, q)
    with pytest.raises(ValueError, match=r"samples: negative value at row 1"):
        policies.newsvendor_quantity([[1.0, 2.0], [1.0, -2.0]], underage_cost=[0.0, 1.0],
                                     overage_cost=1.0)  # fmt: skip


def test_newsvendor_on_whole_unit_samples_never_orders_past_the_cost_minimizing_sample():
    # Independent reference: expected cost over the samples, brute force over every whole order.
    # Where the CDF passes the ratio strictly, the linear quantile lies on a rising stretch of the
    # cost: 2.35 of [1, 2, 3, 4] at 0.45 (cost 9.85 against 9.5 for 2), 4.8 of [1, 2, 10, 11]
    # (whose floor 4 still costs more than 2) and 5.09 of 1..10 at 10 / 22.
    rows = [(np.array([1.0, 2.0, 3.0, 4.0]), 9.0, 11.0),
            (np.array([1.0, 2.0, 10.0, 11.0]), 9.0, 11.0),
            (np.arange(1.0, 11.0), 10.0, 12.0), (np.arange(1.0, 21.0), 1.0, 1.0)]  # fmt: skip
    for x, cu, co in rows:
        q = policies.newsvendor_quantity(x[None, :], underage_cost=cu, overage_cost=co)[0]

        def cost(order, x=x, cu=cu, co=co):
            return (cu * np.maximum(x - order, 0) + co * np.maximum(order - x, 0)).mean()

        orders = np.arange(int(x.max()) + 1)
        costs = np.array([cost(k) for k in orders])
        # The smallest cost-minimizing order: the smallest sample value whose CDF reaches the ratio.
        want = orders[np.flatnonzero(costs <= costs.min() + 1e-12)[0]]
        assert q == want, (x, q, want)


def test_an_rq_order_of_more_lots_than_float64_counts_is_refused_not_looped():
    """(r - position) / Q >= 2**52: the kernel's lot count stops growing when 1 is added, so
    its loop would never end; the row is refused by name first (in a subprocess with a time
    limit, so that a regression fails instead of hanging the suite)."""
    code = (
        "from kernels.policies import order_quantities\n"
        "try:\n"
        "    order_quantities([0.0], rule='rQ', reorder_point=[2.0**53], lot_size=[1.0])\n"
        "except ValueError as e:\n"
        "    print('error', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.startswith("error") and "reorder_point" in out.stdout


# A fill-rate row planned from whole-unit demand samples gets a whole reorder level.
#
# Stock positions move in whole units when demand does, so an (r, Q) reorder point between two
# integers acts as the integer below it: a level of 2.7 with Q = 3 keeps the position in {3, 4, 5}
# and serves 88% of demand, while the plan reported the 95% target met.
def _short(a, b, s, c):
    return np.maximum(a - s, 0).mean() - np.maximum(b - s - c, 0).mean()


@pytest.mark.parametrize("target", [0.8, 0.9, 0.95, 0.99])
def test_whole_unit_samples_give_the_smallest_whole_level_that_meets_the_fill_rate(target):
    rng = np.random.default_rng(0)
    paths = rng.binomial(1, 0.5, size=(3, 2000, 8)).astype(float)
    a = paths[:, :, :4].sum(axis=2)  # D_L, L = 4
    ap = paths[:, :, :6].sum(axis=2)  # D_{L+R}, R = 2
    q = 3.0
    for args, shift in (((a,), q), ((ap, a), 0.0)):
        res = policy_from_samples(*args, shift=shift, service_level=target, service_type=FILL_RATE)
        for i in range(3):
            ra, rb = args[0][i], args[-1][i]
            per_cycle = ra.mean() - rb.mean() + shift
            level = res["level"][i]
            assert level == np.floor(level)
            fill = 1 - _short(ra, rb, level, shift) / per_cycle
            assert fill >= target
            assert res["fill_rate"][i] == pytest.approx(fill, abs=1e-12)
            if level > 0:  # one unit less misses the target
                assert 1 - _short(ra, rb, level - 1, shift) / per_cycle < target


def test_plan_from_whole_unit_sample_paths_meets_the_fill_rate_it_reports():
    rng = np.random.default_rng(0)
    n_paths, steps = 2000, 8
    x = rng.binomial(1, 0.5, size=(n_paths, steps)).astype(float)
    forecast = pd.DataFrame(
        {
            "item_id": "sku",
            "location_id": "FC",
            "sample": np.repeat(np.arange(n_paths), steps),
            "step": np.tile(np.arange(1, steps + 1), n_paths),
            "demand": x.ravel(),
        }
    )
    inventory = pd.DataFrame(
        {"item_id": ["sku"], "location_id": "FC", "on_hand": [5.0], "lead_time_mean": 4.0,
         "lot_size": 3.0, "service_type": "fill_rate", "service_level": 0.95}
    )  # fmt: skip
    row = plan(forecast, inventory, Policy()).iloc[0]
    # Whole-unit positions: the (r, Q) rule keeps the position in floor(r) + 1 .. floor(r) + Q.
    d = x[:, :4].sum(axis=1)
    r, q = np.floor(row["reorder_point"]), row["lot_size"]
    achieved = 1 - (np.maximum(d - r, 0).mean() - np.maximum(d - r - q, 0).mean()) / q
    assert achieved >= 0.95
    assert row["expected_fill_rate"] == pytest.approx(achieved, abs=1e-9)


def test_valid_records_split_between_neighbouring_days():
    pmf = empirical_lead_time_pmf([np.array([2.0, 2.5, 3.0]), np.array([0.0])], 5)
    np.testing.assert_allclose(pmf[0], [0, 0, 0.5, 0.5, 0, 0])
    np.testing.assert_allclose(pmf[1], [1, 0, 0, 0, 0, 0])


@pytest.mark.parametrize("bad", [[-0.5, 3.0], [np.nan, 3.0], [np.inf], []])
def test_negative_missing_or_empty_records_are_errors(bad):
    with pytest.raises(ValueError, match="samples: .* at row 1"):
        empirical_lead_time_pmf([np.array([3.0]), np.array(bad, dtype=float)], 5)


def test_round_lot_size_output_is_a_valid_rq_lot_for_decimal_packs_and_moq():
    pack = np.array([0.3, 0.3, 0.7, 0.03, 0.15, 0.6])
    moq = np.array([0.9, 2.7, 2.1, 0.33, 0.45, 1.8])
    lot = round_lot_size(np.zeros(6), pack, moq)
    # Independent reference: the smallest whole number of packs (at least one) reaching the MOQ.
    want = [max(1, -(-Fraction(str(m)) // Fraction(str(p)))) * Fraction(str(p))
            for p, m in zip(pack, moq)]  # fmt: skip
    np.testing.assert_allclose(lot, [float(w) for w in want], rtol=1e-12)
    qty = order_quantities(np.zeros(6), rule="rQ", reorder_point=0.0, lot_size=lot,
                           case_pack=pack, moq=moq)  # fmt: skip
    np.testing.assert_allclose(qty, lot)  # one lot lifts the position above r = 0


def test_plan_with_a_case_pack_of_0_3_and_an_moq_of_0_9():
    f = pd.DataFrame({"item_id": ["rope"], "location_id": ["FC1"], "demand_mean": [0.05],
                      "demand_std": [0.02]})  # fmt: skip
    inv = f[["item_id", "location_id"]].assign(
        on_hand=0.0, lead_time_mean=4.0, review_period=0.0, case_pack=0.3, moq=0.9
    )
    row = plan(f, inv, Policy(service_level=0.95)).iloc[0]
    assert row["lot_size"] == np.float64(0.9) or abs(row["lot_size"] - 0.9) < 1e-12
    assert abs(row["order_qty"] - 0.9) < 1e-12


def test_a_lot_really_below_the_moq_is_still_refused():
    import pytest

    with pytest.raises(ValueError, match="lot_size"):
        order_quantities([0.0], rule="rQ", reorder_point=0.5, lot_size=0.6, case_pack=0.3,
                         moq=0.9)  # fmt: skip


def _smallest_whole_level(a, b, q, target):
    # Exact: the smallest integer s >= 0 with 1 - short(s) / m >= target, target read as decimal.
    a = [int(x) for x in a]
    b = [int(x) for x in b]
    n = len(a)
    m = Fraction(sum(a) - sum(b), n) + q
    goal = (1 - Fraction(target)) * m

    def short(s):
        return Fraction(sum(max(x - s, 0) for x in a) - sum(max(x - s - q, 0) for x in b), n)

    s = 0
    while short(s) > goal:
        s += 1
    return s


@pytest.mark.parametrize("target", ["0.7", "0.8", "0.9", "0.95"])
@pytest.mark.parametrize("q", [1, 2, 3])
def test_uniform_counts_continuous_review(target, q):
    a = np.arange(10.0)[None, :]  # demand over the lead time: 0..9, equally likely
    res = policy_from_samples(a, shift=float(q), service_level=float(target),
                              service_type=FILL_RATE)  # fmt: skip
    assert res["level"][0] == _smallest_whole_level(a[0], a[0], q, target)


def test_poisson_rows_continuous_and_periodic():
    rng = np.random.default_rng(0)
    a = rng.poisson(rng.uniform(1, 30, (80, 1)), (80, 100)).astype(float)
    b = np.floor(a * 0.6)
    q = rng.integers(1, 40, 80).astype(float)
    for target in ("0.8", "0.9"):
        res = policy_from_samples(a, shift=q, service_level=float(target), service_type=FILL_RATE)
        want = [_smallest_whole_level(a[i], a[i], int(q[i]), target) for i in range(80)]
        np.testing.assert_array_equal(res["level"], want)
        res = policy_from_samples(a, b, service_level=float(target), service_type=FILL_RATE)
        want = [_smallest_whole_level(a[i], b[i], 0, target) for i in range(80)]
        np.testing.assert_array_equal(res["level"], want)


def test_whole_count_quantile_tables_plan_whole_levels():
    # Cumulative quantiles of count demand are whole numbers, and stock moves in whole units: a
    # level between two integers acts as the integer below it. Interpolated in the normal score,
    # Poisson demand of mean 0.95 over the lead time planned r = 1.28 at 80% cycle service,
    # reported 80%, and met P(X <= 1) = 75%. The level is the smallest whole one that meets the
    # target on the table (as for whole-unit samples), for both targets.
    levels = np.array([0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95])
    poisson = stats.poisson(0.95)
    q = poisson.ppf(levels)
    assert poisson.cdf(1) < 0.8 <= poisson.cdf(2)
    weights = np.tile([0.0, 1.0], (2, 1))
    got = policies.policy_from_quantiles(
        np.stack([q, q + 0.5])[:, None, :], levels, weights, shift=[4.0, 4.0], service_level=0.8
    )
    assert got["level"][0] == 2.0 and got["cycle_service"][0] >= 0.8
    assert got["level"][1] != np.floor(got["level"][1])  # fractional knots: left as they were
    want = reference.policy_from_quantiles(
        np.stack([q, q + 0.5])[:, None, :], levels, weights, weights, [4.0] * 2, [0.8] * 2, [0] * 2
    )
    np.testing.assert_allclose(got["level"], want["level"], rtol=1e-8)
    # Fill rate, periodic review: Poisson 0.23 a day, L = 6, R = 1 (A = 7 days, B = 6 days).
    cum = np.stack([stats.poisson(0.23 * h).ppf(levels) for h in range(1, 8)])
    w_a, w_b = np.eye(8)[[7]], np.eye(8)[[6]]
    fr = policies.policy_from_quantiles(
        cum[None], levels, w_a, w_b, service_level=0.8, service_type=1
    )
    s = fr["level"][0]
    assert s == np.floor(s) and fr["fill_rate"][0] >= 0.8
    want = reference.policy_from_quantiles(cum[None], levels, w_a, w_b, [0.0], [0.8], [1])
    assert want["level"][0] == s

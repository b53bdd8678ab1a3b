"""The scalar distribution functions the kernels are built on, against SciPy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy import special, stats

from kernels import _special as sf
from kernels.policies import policy_parametric


@njit(cache=False)
def _norm_ppf_many(p):
    out = np.empty_like(p)
    for i in range(p.shape[0]):
        out[i] = sf.norm_ppf(p[i])
    return out


def test_normal_quantile_matches_scipy_to_a_few_ulp():
    p = np.concatenate(
        [np.logspace(-300, -1, 300), np.linspace(0.01, 0.99, 197), 1 - np.logspace(-16, -2, 60)]
    )
    got = _norm_ppf_many(p)
    want = special.ndtri(p)
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-14)
    assert _norm_ppf_many(np.array([0.0, 1.0]))[0] == -np.inf


@pytest.mark.parametrize("a", [0.05, 0.7, 1.0, 4.0, 60.0, 5000.0])
def test_incomplete_gamma_pair_is_accurate_in_both_tails(a):
    x = np.array([1e-3, 0.3, a * 0.5, a, a + 3 * np.sqrt(a), 3 * a + 20])
    for xi in x:
        p, q = sf.gammainc_pq(a, xi)
        assert p == pytest.approx(special.gammainc(a, xi), rel=1e-10, abs=1e-300)
        assert q == pytest.approx(special.gammaincc(a, xi), rel=1e-10, abs=1e-300)


@pytest.mark.parametrize("k", [0.2, 1.0, 6.0, 400.0])
@pytest.mark.parametrize("p", [1e-6, 0.05, 0.5, 0.95, 0.999])
def test_gamma_quantile_inverts_the_cdf(k, p):
    assert sf.gamma_ppf(p, k, 2.5) == pytest.approx(stats.gamma.ppf(p, k, scale=2.5), rel=1e-11)


@pytest.mark.parametrize("k", [0.5, 3.0, 40.0])
def test_gamma_loss_matches_the_integrated_survival_function(k):
    dist = stats.gamma(k, scale=2.0)
    for s in [-1.0, 0.5, dist.mean(), dist.ppf(0.99)]:
        want = dist.expect(lambda x, s=s: max(x - s, 0.0), lb=0, ub=np.inf)
        assert sf.gamma_loss(s, k, 2.0) == pytest.approx(want, rel=1e-7, abs=1e-12)


@pytest.mark.parametrize("mean,var", [(0.4, 0.9), (3.0, 3.0), (3.0, 12.0), (80.0, 900.0)])
def test_count_law_cdf_quantile_and_loss(mean, var):
    if var > mean:
        r = mean**2 / (var - mean)
        dist = stats.nbinom(r, mean / var)
    else:
        dist = stats.poisson(mean)
    ks = np.arange(0, int(dist.ppf(0.9999)) + 2)
    for k in ks[:: max(1, len(ks) // 25)]:
        cdf, sf_ = sf.count_cdf_sf(float(k), mean, var)
        assert cdf == pytest.approx(dist.cdf(k), rel=1e-10)
        assert sf_ == pytest.approx(dist.sf(k), rel=1e-9, abs=1e-300)
    for alpha in [0.01, 0.5, 0.9, 0.99]:
        assert sf.count_ppf(alpha, mean, var) == dist.ppf(alpha)
    support = np.arange(0, int(dist.ppf(1 - 1e-14)) + 50)
    for s in [0.0, 0.4, mean, mean + 2.7 * np.sqrt(var)]:
        want = np.sum(np.maximum(support - s, 0) * dist.pmf(support))
        assert sf.count_loss(s, mean, var) == pytest.approx(want, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("eps", [1e-11, 1e-9, 1e-7, 1e-6])
def test_count_law_near_poisson_limit(eps):
    mu = 1e4
    var = mu * (1.0 + eps)
    # NB(r, p) differs from Poisson(mu) by about 0.12 * eps in the CDF.
    ks = np.arange(9700.0, 10400.0, 50.0)
    for k in ks:
        cdf, sf_ = sf.count_cdf_sf(k, mu, var)
        assert cdf == pytest.approx(stats.poisson.cdf(k, mu), abs=1e-6)
        assert sf_ == pytest.approx(stats.poisson.sf(k, mu), abs=1e-6)
    # E[(X - mu)+] of Poisson(mu) at an integer mean is mu * pmf(mu).
    want = mu * stats.poisson.pmf(mu, mu)
    assert sf.count_loss(mu, mu, var) == pytest.approx(want, rel=1e-4)
    assert sf.count_ppf(0.95, mu, var) == stats.poisson.ppf(0.95, mu)


def _poisson_loss(s, mu):
    x = np.arange(0, int(mu + 40 * math.sqrt(mu)) + 50)
    return float(np.sum(np.maximum(x - s, 0.0) * stats.poisson.pmf(x, mu)))


def test_negbin_policy_near_poisson_limit():
    mu_a, mu_b = 14000.0, 10000.0  # periodic review: A = D_{L+R}, B = D_L
    std_a = math.sqrt(mu_a * (1.0 + 1e-10))
    std_b = math.sqrt(mu_b * (1.0 + 1e-10))
    out = policy_parametric(
        [mu_a, mu_a], [std_a, std_a], [mu_b, mu_b], [std_b, std_b],
        service_level=0.99, service_type=[0, 1], shape="negbin",
    )  # fmt: skip
    # Cycle service: the Poisson 99% quantile and its CDF.
    assert out["level"][0] == stats.poisson.ppf(0.99, mu_a)
    assert out["cycle_service"][0] == pytest.approx(stats.poisson.cdf(out["level"][0], mu_a),
                                                    abs=1e-6)  # fmt: skip
    # Fill rate: the smallest whole level whose shortage per cycle is at most 1% of mu_a - mu_b.
    level = out["level"][1]
    target = 0.01 * (mu_a - mu_b)

    def short(s):
        return _poisson_loss(s, mu_a) - _poisson_loss(s, mu_b)

    assert short(level) <= target < short(level - 1)
    assert out["fill_rate"][1] == pytest.approx(1.0 - short(level) / (mu_a - mu_b), abs=1e-6)


@njit(cache=False)
def _count_ppf_compiled(alpha, mean, var):
    return sf.count_ppf(alpha, mean, var)


@pytest.mark.parametrize("mean,var", [(1.0, 2.0), (2.0, 4.0), (3.0, 12.0)])
def test_count_quantile_at_an_exact_cdf_value(mean, var):
    # NB(r, 1/2) and NB(1, 1/4) have CDF values that are exact binary fractions (NB(1, 1/2):
    # 0.5, 0.75, 0.875...). A service level equal to one of them must get that count, as scipy
    # does; the computed CDF rounded a few ulp below it and the quantile came out one unit high.
    dist = stats.nbinom(mean**2 / (var - mean), mean / var)
    for k in range(8):
        alpha = float(dist.cdf(k))
        assert sf.count_ppf(alpha, mean, var) == k
        assert _count_ppf_compiled(alpha, mean, var) == k


@pytest.mark.parametrize(
    "k,p", [(0.01, 1e-4), (0.001, 0.01), (0.001, 0.5), (0.0316, 1e-12), (0.5, 1e-300)]
)
def test_gamma_quantile_of_a_tiny_shape_uncompiled(k, p):
    # The functions are also called uncompiled (plain Python): there the density of a shape
    # k << 1 near 0 overflowed math.exp (OverflowError) and an iterate that underflowed to 0
    # hit math.log(0) (ValueError); compiled, both are inf and the quantile is right.
    want = stats.gamma.ppf(p, k, scale=2.0)
    assert sf.gamma_ppf(p, k, 2.0) == pytest.approx(want, rel=1e-9, abs=1e-300)


def test_incomplete_gamma_at_huge_shapes_near_the_mean():
    # Near x = a the series needs ~7 sqrt(a) terms and stopped at its iteration cap past
    # a ~ 1e9: the Poisson CDF at its mean of 1e10 (the negative binomial policy's largest) read
    # 0.523 and the gamma CDF at the mean of shape 1e12 0.079. References: mpmath's upper
    # incomplete gamma, and P(a, a) = 1/2 + 1 / (3 sqrt(2 pi a)) + O(1 / a).
    mu = 1e10
    cdf, sf_ = sf.count_cdf_sf(mu, mu, mu)
    assert cdf == pytest.approx(0.500002659615203, rel=1e-9)
    assert sf_ == pytest.approx(1.0 - 0.500002659615203, rel=1e-9)
    assert sf.count_ppf(0.99, mu, mu) == 10000232636.0  # mpmath: CDF 0.98999999 / 0.99000026
    for k in [1e10, 1e12]:
        want = 0.5 + 1.0 / (3.0 * math.sqrt(2.0 * math.pi * k))
        assert sf.gamma_cdf_sf(k, k, 1.0)[0] == pytest.approx(want, abs=1e-10)
        assert sf.gamma_ppf(0.5, k, 1.0) == pytest.approx(k - 1.0 / 3.0, abs=1e-3 * math.sqrt(k))


def test_incomplete_gamma_has_no_jump_at_the_wilson_hilferty_switch():
    # Just below the switch the series' error grows as a * eps: at a switch of 1e9 it was 6e-7
    # there, where Wilson-Hilferty's is 7e-12, so P(a, x) jumped by 6e-7 between two shapes
    # one ulp apart (a 95% gamma level of sd 1 fell 1.2e-6 as its shape rose past 1e9). The
    # exact P(a, x) moves by the Poisson pmf x^a e^-x / Gamma(a + 1) times da ~ 1e-7: ~1e-12.
    a = sf._WH_SHAPE
    below = np.nextafter(a, 0.0)
    for d in (-3.0, -1.0, 0.0, 1.0, 3.0):
        x = a + d * math.sqrt(a)
        assert abs(sf.gammainc_pq(below, x)[0] - sf.gammainc_pq(a, x)[0]) < 3e-7, d

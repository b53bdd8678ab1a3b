"""``distribution="negative_binomial"``: a network's step head is a negative binomial of the
demand count, fitted by likelihood, and every consumer still reads its quantiles (predict, a
reloaded run, the ONNX package)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from forecasting import ForecastConfig, Forecaster
from forecasting.models import InputDims, QuantileLSTM
from forecasting.models.heads import snap_counts
from forecasting.negbin import SUPPORT, NegativeBinomialQuantiles, negative_binomial_nll
from forecasting.spec import DEFAULT_QUANTILES, quantile_column
from forecasting.synthetic import generate_network
from forecasting.windows import BATCH_KEYS, make_batch
from serving.export import export_run
from serving.export.forecast import ForecastGraph, codes_of, example_inputs, preprocessing
from serving.runtime import ForecastPackage
from training import TrainConfig

LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
FAST = TrainConfig(max_epochs=2, batches_per_epoch=4, batch_size=32, progress_bar=False, seed=3)


def _random_parameters(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Means from 0.05 to 8,000 units and dispersions from Poisson-like to very lumpy."""
    g = torch.Generator().manual_seed(seed)
    mean = torch.exp(torch.rand(n, generator=g) * 12 - 3)
    dispersion = torch.exp(torch.rand(n, generator=g) * 7 - 5).clamp(min=1e-3)
    return mean, dispersion


def _scipy_ppf(mean: torch.Tensor, dispersion: torch.Tensor) -> np.ndarray:
    r = 1.0 / dispersion.double().numpy()
    p = r / (r + mean.double().numpy())
    return stats.nbinom.ppf(np.array(LEVELS)[None], r[:, None], p[:, None])


def test_quantiles_are_scipys_counts_where_the_support_reaches():
    mean, dispersion = _random_parameters(20_000)
    ours = NegativeBinomialQuantiles(LEVELS)(mean, dispersion).numpy()
    reference = _scipy_ppf(mean, dispersion)
    exact = reference[:, -1] < 400  # every level inside the 512 units summed exactly
    assert exact.sum() > 5_000
    difference = reference[exact] - ours[exact]
    # A quantile is scipy's count k, or on its way from k - 1 to k where the level falls in
    # the first 10% of k's probability (continuity for exported graphs); a float32 running sum
    # lands one unit high where the level and the distribution function agree to ~1e-5.
    assert (np.abs(difference) <= 1 + 1e-4).all()
    assert (np.abs(difference) < 1e-4).mean() > 0.9
    assert (np.ceil(ours[exact] - 1e-3) != reference[exact]).mean() < 1e-3


def test_quantiles_of_high_sellers_follow_the_gamma_of_the_same_moments():
    mean, dispersion = _random_parameters(20_000, seed=1)
    ours = NegativeBinomialQuantiles(LEVELS)(mean, dispersion).numpy()
    reference = _scipy_ppf(mean, dispersion)
    far = reference[:, 0] >= 512  # even the lowest level lies beyond the exact support
    assert far.sum() > 1_000
    relative = np.abs(ours[far] - reference[far]) / reference[far]
    assert np.median(relative) < 0.001
    # Wilson-Hilferty is weakest in the low tail of a shape near 1 (dispersion near 1).
    assert relative[:, 1:].max() < 0.05 and relative.max() < 0.2
    assert (np.diff(ours, axis=1) >= -1e-3).all()  # ordered across levels everywhere


def test_a_zero_mean_puts_every_quantile_at_zero():
    quantiles = NegativeBinomialQuantiles(LEVELS)(torch.zeros(3), torch.tensor([1e-3, 1.0, 50.0]))
    assert (quantiles == 0).all()


NB_PARAMETERS = ((0.4, 2.0), (6.0, 0.3), (150.0, 0.05))  # (mean, dispersion)


def _draws() -> list[tuple[float, float, np.ndarray]]:
    """20,000 counts for each of NB_PARAMETERS, drawn in turn from one seeded generator."""
    rng = np.random.default_rng(0)
    return [
        (mean, dispersion, rng.negative_binomial(r, r / (r + mean), size=20_000))
        for mean, dispersion in NB_PARAMETERS
        for r in [1.0 / dispersion]
    ]


def test_the_likelihood_is_scipys():
    for mean, dispersion, draws in _draws():
        r = 1.0 / dispersion
        counts = draws[:50].astype(np.float32)
        nll = negative_binomial_nll(
            torch.from_numpy(counts), torch.tensor(mean), torch.tensor(dispersion)
        )
        expected = -stats.nbinom.logpmf(counts, r, r / (r + mean))
        np.testing.assert_allclose(nll.numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.slow
def test_the_likelihoods_maximum_recovers_the_parameters():
    for _, dispersion, draws in _draws():
        counts = draws.astype(np.float32)
        raw = torch.zeros(2, requires_grad=True)  # log mean, log dispersion
        optimizer = torch.optim.Adam([raw], lr=0.1)
        y = torch.from_numpy(counts)
        for _ in range(1500):
            optimizer.zero_grad()
            negative_binomial_nll(y, raw[0].exp(), raw[1].exp()).mean().backward()
            optimizer.step()
        assert raw[0].exp().item() == pytest.approx(counts.mean(), rel=0.02)
        assert raw[1].exp().item() == pytest.approx(dispersion, rel=0.15)


def test_settings_that_do_not_go_together_are_refused_by_name():
    with pytest.raises(ValueError, match="target_transform"):
        ForecastConfig("lstm", 7, distribution="negative_binomial", target_transform="log1p")
    with pytest.raises(ValueError, match="distribution"):
        ForecastConfig("lstm", 7, distribution="tweedie")


@pytest.mark.slow
@pytest.mark.parametrize("model", ["lstm", "tft"])
def test_a_negative_binomial_run_forecasts_counts_round_trips_and_exports(
    small_network, tmp_path, model
):
    from serving.export import export_run
    from serving.runtime import ForecastPackage

    frame = small_network.to_frame()
    forecaster = Forecaster(
        model,
        7,
        spec=small_network.spec,
        train=FAST,
        hidden_size=8,
        distribution="negative_binomial",
    )
    forecaster.fit(frame, run_dir=tmp_path / "run")
    assert np.isfinite(forecaster.model_.info["best_val_loss"])
    table = forecaster.predict(frame)
    levels = [quantile_column(q) for q in forecaster.config.quantiles]
    values = table[levels].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    assert (np.diff(values, axis=1) >= -1e-4).all()
    # Counts: below 512 units a quantile is a whole number (or within 10% of a unit's
    # probability of becoming the next one).
    small = values < 400
    assert (np.abs(values[small] - np.round(values[small])) < 1e-3).mean() > 0.85

    loaded = Forecaster.load(tmp_path / "run")
    assert loaded.config.distribution == "negative_binomial"
    np.testing.assert_array_equal(loaded.predict(frame)[levels].to_numpy(), values)

    package = ForecastPackage(export_run(tmp_path / "run", tmp_path / "repo"))
    served = package.predict(frame).sort_values(["item_id", "location_id", "step"])
    ours = table.sort_values(["item_id", "location_id", "step"])
    np.testing.assert_allclose(
        served[levels].to_numpy(), ours[levels].to_numpy(), rtol=1e-4, atol=1e-3
    )


def test_quantiles_beyond_the_support_stay_above_it_and_ordered():
    mean = torch.tensor([220.5, 8000.0, 1e6, 1e6, 440.7])
    dispersion = torch.tensor([30.0, 100.0, 3.0, 10.0, 24.5])
    ours = NegativeBinomialQuantiles(LEVELS)(mean, dispersion).double().numpy()
    r = 1.0 / dispersion.double().numpy()
    p = r / (r + mean.double().numpy())
    reference = stats.nbinom.ppf(np.array(LEVELS)[None], r[:, None], p[:, None])
    assert (np.diff(ours, axis=1) >= -1e-3).all(), ours
    beyond = reference >= SUPPORT
    # A level the exact support does not reach has a quantile of at least SUPPORT units.
    assert (ours[beyond] >= SUPPORT - 1e-3).all(), ours
    # Where the support does reach, the quantile is still scipy's count (or on its way to it).
    assert (np.abs(ours[~beyond] - reference[~beyond]) <= 1 + 1e-4).all()


def test_lumpy_counts_over_a_grid_of_means_never_cross():
    mean = torch.exp(torch.linspace(0.0, np.log(1e5), 200)).repeat_interleave(60)
    dispersion = torch.exp(torch.linspace(np.log(0.01), np.log(100.0), 60)).repeat(200)
    ours = NegativeBinomialQuantiles(LEVELS)(mean, dispersion).numpy()
    assert np.isfinite(ours).all()
    assert (np.diff(ours, axis=1) >= -1e-3).all()


def test_upper_quantiles_of_lumpy_counts_beyond_the_support_are_within_four_percent():
    mean = torch.tensor([500.0, 1000.0, 8000.0, 3000.0])
    dispersion = torch.tensor([5.0, 10.0, 3.0, 2.0])
    ours = NegativeBinomialQuantiles(LEVELS)(mean, dispersion).double().numpy()
    r = 1.0 / dispersion.double().numpy()
    p = r / (r + mean.double().numpy())
    reference = stats.nbinom.ppf(np.array(LEVELS)[None], r[:, None], p[:, None])
    beyond = reference >= SUPPORT
    beyond[:, 0] = False  # the 5% level has its own, looser bound
    relative = np.abs(ours - reference) / np.maximum(reference, 1.0)
    assert beyond.sum() >= 8
    assert relative[beyond].max() < 0.04, np.round(relative, 3)


# Negative binomial step quantiles are whole counts after unscaling, on both paths: the head
# divides its integer quantiles by the level in float32 and the caller multiplies them back
# (7 units came back as 6.9999995 or 7.0000005).
def _off_whole(values: np.ndarray) -> int:
    """Values a float rounding away from a whole number (not a count, not a slide)."""
    off = np.abs(values - np.round(values))
    return int(((off > 0) & (off <= 1e-5 * np.maximum(np.abs(values), 1.0))).sum())


def test_negative_binomial_quantiles_stay_whole(small_network, tmp_path):
    train = TrainConfig(max_epochs=2, batches_per_epoch=3, batch_size=32, progress_bar=False)
    forecaster = Forecaster(
        "lstm",
        7,
        spec=small_network.spec,
        train=train,
        hidden_size=8,
        distribution="negative_binomial",
    )
    frame = small_network.to_frame()
    # Levels that are not powers of two: k / level * level rounds off k in float32.
    frame["demand"] = frame["demand"] * 3.0
    forecaster.fit(frame, run_dir=tmp_path / "runs" / "nb")
    table = forecaster.predict(frame)
    columns = [c for c in table.columns if c.startswith("q")]
    values = table[columns].to_numpy(np.float64)
    assert (values == np.round(values)).mean() > 0.5  # mostly whole counts
    assert _off_whole(values) == 0

    package = ForecastPackage(export_run(tmp_path / "runs" / "nb", tmp_path / "repo"))
    served = package.predict(frame)[columns].to_numpy(np.float64)
    assert _off_whole(served) == 0
    np.testing.assert_allclose(served, values, rtol=1e-4, atol=1e-4)


TAIL_LEVELS = (0.005, 0.01, 0.02, 0.05, 0.5, 0.95, 0.99, 0.995)


def test_low_quantiles_of_moderately_dispersed_high_sellers_match_scipy():
    g = torch.Generator().manual_seed(0)
    mean = torch.exp(torch.rand(2000, generator=g) * np.log(1e5 / 2e3) + np.log(2e3))
    dispersion = torch.exp(torch.rand(2000, generator=g) * np.log(10.0) + np.log(1 / 33))
    ours = NegativeBinomialQuantiles(TAIL_LEVELS)(mean, dispersion).double().numpy()
    r = 1.0 / dispersion.double().numpy()
    p = r / (r + mean.double().numpy())
    reference = stats.nbinom.ppf(np.array(TAIL_LEVELS)[None], r[:, None], p[:, None])
    beyond = reference >= 512  # levels past the exactly summed support
    assert beyond.mean() > 0.95
    relative = np.abs(ours - reference) / np.maximum(reference, 1.0)
    assert relative[beyond].max() < 0.01, np.where(beyond, relative, 0).max(axis=0)
    assert (np.diff(ours, axis=1) >= -1e-3).all()


def test_the_one_percent_quantile_of_a_worked_case():
    ours = NegativeBinomialQuantiles((0.01, 0.5))(torch.tensor([50517.0]), torch.tensor([0.3317]))
    r, mean = 1 / 0.3317, 50517.0
    reference = stats.nbinom.ppf([0.01, 0.5], r, r / (r + mean))
    np.testing.assert_allclose(ours[0].double().numpy(), reference, rtol=0.005)


H = 7


def test_negative_binomial_counts_survive_bf16_autocast():
    store = generate_network(n_items=4, n_locations=1, n_days=120, seed=3).to_store()
    torch.manual_seed(0)
    dims = InputDims.from_store(store)
    net = QuantileLSTM(dims, H, DEFAULT_QUANTILES, 16, distribution="negative_binomial").eval()
    batch = make_batch(store, torch.arange(4), torch.full((4,), 100), 28, H, 1.0)
    scale = batch["scale"] * 60  # counts of tens to hundreds of units
    inputs = [batch[k] for k in BATCH_KEYS]
    inputs[-1] = inputs[-1].clone()
    inputs[-1][:, -1] = torch.log1p(scale)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        features = net.features(*inputs)
        mean, dispersion = net.heads.distribution(features, inputs[-1][:, -1])
        steps, _ = net(*inputs)
    assert features.dtype == torch.bfloat16  # what the cast followed
    units = snap_counts((steps.float() * scale[:, None, None]).clamp(min=0)).numpy()
    # Reference: scipy's quantiles of the distribution the head predicted.
    r = 1.0 / dispersion.double().numpy()[..., None]
    p = r / (r + mean.double().numpy()[..., None])
    levels = np.asarray(DEFAULT_QUANTILES)[None, None, :]
    expected = stats.nbinom.ppf(levels, r, p)
    # Away from the documented slide between counts (within 10% of a unit's probability),
    # a quantile is scipy's count exactly.
    below = stats.nbinom.cdf(expected - 1, r, p)
    clear = levels - below > 0.1 * stats.nbinom.pmf(expected, r, p)
    assert clear.mean() > 0.5
    assert expected.max() > 100
    np.testing.assert_array_equal(units[clear], expected[clear])


def test_the_likelihood_of_large_counts_agrees_with_scipy_in_float32():
    rng = np.random.default_rng(0)
    counts = np.round(rng.uniform(0.5, 1.5, 2000) * 10 ** rng.uniform(4, 6, 2000))
    mean = counts * rng.uniform(0.8, 1.2, counts.size)
    dispersion = rng.uniform(1e-3, 0.05, counts.size)
    as32 = [torch.tensor(v, dtype=torch.float32) for v in (counts, mean, dispersion)]
    # The reference reads the float32 values the function is given.
    y, mu, alpha = (v.double().numpy() for v in as32)
    r = 1.0 / alpha
    expected = -stats.nbinom.logpmf(y, r, r / (r + mu))
    got = negative_binomial_nll(*as32)
    assert got.dtype == torch.float32
    np.testing.assert_allclose(got.double().numpy(), expected, rtol=0, atol=1e-3)


def test_the_likelihood_gradient_stays_finite_for_zero_and_huge_counts():
    counts = torch.tensor([0.0, 0.0, 3.0, 1e7, 5e8])
    mean = torch.tensor([1e-6, 2.0, 0.5, 1e7, 4e8], requires_grad=True)
    dispersion = torch.tensor([1e-3, 5.0, 1e-3, 1e-3, 0.2], requires_grad=True)
    negative_binomial_nll(counts, mean, dispersion).sum().backward()
    assert torch.isfinite(mean.grad).all() and torch.isfinite(dispersion.grad).all()


def test_negative_binomial_ensemble_quantiles_stay_whole():
    network = generate_network(n_items=6, n_locations=2, n_days=120, seed=3, future_days=7)
    frame = network.to_frame()
    frame["demand"] = frame["demand"] * 3.0  # levels that are not powers of two
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=32, progress_bar=False)
    forecaster = Forecaster(
        "lstm",
        7,
        spec=network.spec,
        train=train,
        hidden_size=8,
        ensemble=2,
        distribution="negative_binomial",
    )
    forecaster.fit(frame)
    table = forecaster.predict(frame)
    columns = [c for c in table.columns if c.startswith("q")]
    values = table[columns].to_numpy(np.float64)
    assert (values == np.round(values)).mean() > 0.3  # members often agree on a count
    assert _off_whole(values) == 0

    # The graph a package exports (its torch module; onnxruntime matches it within parity).
    pre = preprocessing(forecaster)
    model = forecaster.model_
    graph = ForecastGraph(model.net.cpu(), pre["encoder_length"], pre["freq"], True)
    feeds = example_inputs(pre, 64, np.random.default_rng(1))
    with torch.inference_mode():
        steps, _ = graph(**codes_of(feeds, pre))
    assert _off_whole(steps.numpy().astype(np.float64)) == 0

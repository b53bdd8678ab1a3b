"""bf16-true training fits a negative binomial to the demand counts and the window levels as they
are: Lightning casts every floating tensor of a batch to bfloat16, and the loss read 12345 units
as 12352 and multiplied its means by expm1(bf16(log1p(level))) (12549 for a level of 12345), so
the fitted means forecast in float32 were off by up to 3.5% depending on the level."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

import training.forecast_task as forecast_task
from forecasting.models import InputDims, build_network
from forecasting.synthetic import generate_network
from forecasting.windows import WindowList, evaluation_windows, group_prior_scale
from training import TrainConfig
from training.forecast_task import ForecastData, ForecastTask
from training.trainer import fit

H = 7


def test_bf16_true_negative_binomial_loss_sees_exact_counts_and_levels(tmp_path, monkeypatch):
    torch.manual_seed(0)
    network = generate_network(n_items=4, n_locations=1, n_days=120, seed=3)
    # Counts of a few hundred to several thousand units: not exact in bfloat16.
    network.demand = np.round(network.demand.astype(np.float64) * 731.0).astype(np.float32)
    demand = network.demand.astype(np.float64)
    store = network.to_store()
    origin = int(store.end.max()) - H
    prior = group_prior_scale(store, origin)
    net = build_network(
        "lstm", InputDims.from_store(store), H, (0.1, 0.5, 0.9), hidden_size=4,
        distribution="negative_binomial",
    )  # fmt: skip
    data = ForecastData(store, 28, H, 8, 1, origin, prior)
    task = ForecastTask(net, (0.1, 0.5, 0.9), data, distribution="negative_binomial")

    calls = []
    raws = []
    original = forecast_task.negative_binomial_nll

    def recording(counts, mean, dispersion):
        calls.append((counts.detach().double().clone(), mean.detach().double().clone()))
        return original(counts, mean, dispersion)

    monkeypatch.setattr(forecast_task, "negative_binomial_nll", recording)
    net.heads.step.register_forward_hook(lambda m, i, out: raws.append(out.detach().double()))
    cfg = TrainConfig(
        max_epochs=1, batches_per_epoch=1, batch_size=8, early_stopping_patience=None,
        progress_bar=False, accelerator="cpu", precision="bf16-true",
    )  # fmt: skip
    fit(task, cfg, tmp_path / "run")

    # The last call is the validation batch: every series forecast from ``origin``.
    counts, mean = calls[-1]
    raw = raws[-1]
    series = evaluation_windows(store, origin, H, 1)
    expected = np.nan_to_num(demand[series.numpy(), origin : origin + H])
    assert expected.max() > 1000
    np.testing.assert_allclose(counts.numpy(), expected, rtol=1e-6)
    # The mean is the head's output times the window's level, as a float32 forecast takes it.
    windows = WindowList(store, series, torch.full_like(series, origin), 28, H, 64, prior)
    scale = next(iter(windows))["scale"].double()
    np.testing.assert_allclose(
        mean.numpy(), (F.softplus(raw[..., 0]) * scale[:, None]).numpy(), rtol=1e-5
    )

"""``target_transform="log1p"``: the step quantiles are fitted on log1p of the scaled demand and
come back as quantiles of demand everywhere (predict, a reloaded run, the ONNX package);
``"softplus"``: they pass through a softplus and are fitted on the scaled demand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from forecasting import ForecastConfig, Forecaster
from forecasting.models.heads import QuantileHeads
from forecasting.spec import quantile_column
from training.config import TrainConfig

FAST = TrainConfig(max_epochs=2, batches_per_epoch=4, batch_size=32, progress_bar=False, seed=3)


def plain_and_transformed(transform: str):
    """Step and cumulative quantiles of a plain head and of the same weights under
    ``transform``, on features large enough to take the plain head below zero."""
    torch.manual_seed(0)
    plain = QuantileHeads(6, (0.1, 0.5, 0.9))
    other = QuantileHeads(6, (0.1, 0.5, 0.9), transform=transform)
    other.load_state_dict(plain.state_dict())
    features, log_scale = torch.randn(4, 5, 6) * 3, torch.zeros(4)
    return plain(features, log_scale), other(features, log_scale)


def test_the_log1p_head_is_expm1_of_the_plain_head_and_stays_ordered():
    (steps, cumulative), (log_steps, log_cumulative) = plain_and_transformed("log1p")
    torch.testing.assert_close(log_steps, torch.expm1(steps))
    torch.testing.assert_close(log_cumulative, cumulative)  # the lead-time head is unchanged
    assert (log_steps.diff(dim=-1) >= 0).all() and (log_steps > -1).all()


def test_the_softplus_head_is_softplus_of_the_plain_head_positive_and_ordered():
    (steps, cumulative), (soft_steps, soft_cumulative) = plain_and_transformed("softplus")
    assert (steps < 0).any()  # the plain head can go below zero here; the softplus one cannot
    torch.testing.assert_close(soft_steps, torch.log1p(torch.exp(steps)))
    torch.testing.assert_close(soft_cumulative, cumulative)
    assert (soft_steps.diff(dim=-1) >= 0).all() and (soft_steps > 0).all()


def test_the_log1p_loss_is_the_pinball_loss_of_the_logs():
    """The step loss compares log1p of the quantiles with log1p of the target (what the heads
    fit); the lead-time loss is the same as without the transform."""
    from forecasting.quantiles import pinball_loss
    from training.forecast_task import ForecastTask

    torch.manual_seed(0)
    levels = (0.1, 0.5, 0.9)
    steps = torch.rand(3, 4, 3).cumsum(dim=-1)
    cumulative = torch.rand(3, 4, 3).cumsum(dim=-1).cumsum(dim=1)
    batch = {"target": torch.rand(3, 4) * 5, "target_mask": torch.ones(3, 4), "scale": None}
    losses = {}
    for transform in ("none", "log1p", "softplus"):
        task = ForecastTask(torch.nn.Identity(), levels, data=None, target_transform=transform)
        task.forward = lambda _: (steps, cumulative)
        losses[transform] = task._loss(batch)
    tensor = torch.tensor(levels)
    plain = pinball_loss(steps, batch["target"], tensor)
    logged = pinball_loss(torch.log1p(steps), torch.log1p(batch["target"]), tensor)
    torch.testing.assert_close(losses["log1p"] - logged, losses["none"] - plain)
    # The softplus heads' outputs are quantiles of the scaled demand itself: the same loss.
    torch.testing.assert_close(losses["softplus"], losses["none"])


def test_an_unknown_transform_is_refused_by_name():
    with pytest.raises(ValueError, match="target_transform"):
        ForecastConfig("lstm", 7, target_transform="sqrt")
    with pytest.raises(ValueError, match="target_transform"):
        QuantileHeads(6, (0.5,), transform="sqrt")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "transform"), [("lstm", "log1p"), ("tft", "log1p"), ("tft", "softplus")]
)
def test_a_transformed_run_forecasts_demand_round_trips_and_exports(
    small_network, tmp_path, model, transform
):
    from serving.export import export_run
    from serving.runtime import ForecastPackage

    frame = small_network.to_frame()
    forecaster = Forecaster(
        model, 7, spec=small_network.spec, train=FAST, hidden_size=8, target_transform=transform
    )
    forecaster.fit(frame, run_dir=tmp_path / "run")
    assert forecaster.model_.net.heads.transform == transform
    table = forecaster.predict(frame)
    levels = [quantile_column(q) for q in forecaster.config.quantiles]
    values = table[levels].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    assert (np.diff(values, axis=1) >= -1e-6).all()

    loaded = Forecaster.load(tmp_path / "run")
    assert loaded.config.target_transform == transform
    np.testing.assert_array_equal(loaded.predict(frame)[levels].to_numpy(), values)

    package = ForecastPackage(export_run(tmp_path / "run", tmp_path / "repo"))
    served = package.predict(frame).sort_values(["item_id", "location_id", "step"])
    ours = table.sort_values(["item_id", "location_id", "step"])
    np.testing.assert_allclose(
        served[levels].to_numpy(), ours[levels].to_numpy(), rtol=1e-4, atol=1e-4
    )

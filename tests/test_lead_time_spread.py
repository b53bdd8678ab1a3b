"""The networks' lead-time (cumulative) quantiles: ordered, their spread free to grow as the
square root of the horizon, and networks saved with the earlier head read as they were trained.

The earlier head added a whole step's spread at every step: on independent Poisson days a
14-day 95% quantile carried about half again the safety stock the exact distribution needs
(see ``test_trained_lead_time_quantiles_match_exact_poisson_sums``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from forecasting import Forecaster
from forecasting.models.heads import NegativeBinomialHeads, QuantileHeads
from forecasting.quantiles import lead_time_increments, sqrt_spread
from training.config import TrainConfig

LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


def test_increments_are_non_negative_and_ordered_for_any_outputs():
    torch.manual_seed(0)
    raw = torch.randn(64, 14, len(LEVELS)) * 8
    increments = lead_time_increments(raw, sqrt_spread(14))
    assert (increments >= 0).all()
    assert (torch.diff(increments, dim=-1) >= 0).all()
    cumulative = torch.cumsum(increments, dim=1)
    assert (torch.diff(cumulative, dim=1) >= 0).all()
    one = lead_time_increments(raw[..., :1], sqrt_spread(14))
    assert one.shape == (64, 14, 1) and torch.allclose(one, F.softplus(raw[..., :1]))


def test_at_equal_outputs_the_spread_grows_as_the_square_root_of_the_horizon():
    """Outputs equal at every step: the lowest level grows as h, and every level's gap to it
    as sqrt(h). The earlier head grew both as h (checked too: this test fails with it)."""
    heads = QuantileHeads(4, LEVELS, horizon=28)
    with torch.no_grad():
        heads.cumulative.weight.zero_()
        heads.cumulative.bias.copy_(torch.tensor([1.0, 0.0, 0.0, -1.0, 0.0, 0.5, 0.0]))
    features = torch.zeros(1, 28, 4)
    h = torch.arange(1, 29, dtype=torch.float64)[:, None]
    for form, growth in ((2, h.sqrt()), (1, h)):
        heads.form = form
        cumulative = heads.cumulative_quantiles(features)[0].double()
        lowest = cumulative[:, :1]
        assert torch.allclose(lowest / h, lowest[:1].expand(28, 1))
        gaps = (cumulative[:, 1:] - lowest) / growth
        assert torch.allclose(gaps, gaps[:1].expand(28, -1), rtol=1e-5)


@pytest.mark.parametrize("heads_class", [QuantileHeads, NegativeBinomialHeads])
def test_weights_saved_with_the_earlier_head_are_read_with_it_also_after_saving_again(
    heads_class,
):
    """A weights file from before the change has no ``lead_time_form``: its cumulative head is
    the running sum of softplus gaps from the lowest level it was trained as, and saving the
    loaded network again (a package exported from an old run) keeps that."""
    torch.manual_seed(1)
    trained = heads_class(6, LEVELS, 14)
    old_file = {
        k: v for k, v in trained.state_dict().items() if k not in ("lead_time_form", "spread_steps")
    }
    features = torch.randn(3, 14, 6)
    raw = trained.cumulative(features)
    earlier = torch.cumsum(torch.cumsum(F.softplus(raw), dim=-1), dim=1)

    loaded = heads_class(6, LEVELS, 14)
    loaded.load_state_dict(old_file)
    assert torch.allclose(loaded.cumulative_quantiles(features), earlier)
    again = heads_class(6, LEVELS, 14)
    again.load_state_dict(loaded.state_dict())
    assert torch.allclose(again.cumulative_quantiles(features), earlier)

    current = heads_class(6, LEVELS, 14)
    current.load_state_dict(trained.state_dict())
    now = current.cumulative_quantiles(features)
    assert torch.allclose(now, trained.cumulative_quantiles(features))
    assert not torch.allclose(now, earlier)


def poisson_panel(n_series: int, n_days: int, seed: int) -> pd.DataFrame:
    """Independent Poisson days with a weekday profile, each series at its own level."""
    rng = np.random.default_rng(seed)
    profile = np.array([0.8, 0.9, 0.9, 1.0, 1.2, 1.4, 0.8])
    dates = pd.date_range("2024-01-01", periods=n_days, freq="D")
    level = rng.uniform(2, 20, n_series)
    demand = rng.poisson(level[:, None] * profile[dates.dayofweek][None, :]).astype(float)
    return pd.DataFrame(
        {
            "item_id": np.repeat([f"i{k}" for k in range(n_series)], n_days),
            "location_id": "fc",
            "date": np.tile(dates, n_series),
            "demand": demand.ravel(),
        }
    )


@pytest.mark.slow
def test_the_lower_lead_time_quantiles_cover_their_share_of_realized_sums():
    """Independent Poisson days (48 series, weekday profile), an LSTM with defaults, 14 origins
    a week apart after the training data: the realized 14-day sums below the 0.05 quantile.

    With the earlier head 0.6% of them were: its spread grew as h, so the low end of a
    lead-time demand was far too low (and with it the mean a plan integrates from the
    quantiles). Over seeds 0-5 at one thread it covered 1.4% on average, the current head 3.3%
    (seeds 0-4), with the 0.95 quantile at 93.2% and 91.9%."""
    from forecasting.backtest import cumulative_calibration, rolling_origins

    table = poisson_panel(48, 420 + 14 * 8, seed=0)
    train = TrainConfig(max_epochs=30, batches_per_epoch=50, seed=0, progress_bar=False)
    forecaster = Forecaster("lstm", horizon=14, train=train)
    forecaster.fit(table[table["date"] < table["date"].min() + pd.Timedelta(days=420)])
    store = forecaster.store(table)
    origins = rolling_origins(store, 14, 14, step=7)
    calibration = cumulative_calibration(store, forecaster.model_, origins, horizons=(14,))
    coverage = calibration.set_index("level")["coverage"]
    assert (calibration["n"] == 14 * 48).all()
    assert coverage[0.05] >= 0.02, coverage.to_dict()
    assert 0.88 <= coverage[0.95] <= 0.98, coverage.to_dict()

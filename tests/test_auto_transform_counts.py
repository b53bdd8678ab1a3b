"""``auto`` with a target transform: the transform is the quantile step heads' setting, so the
quantile networks fit with it and the negative binomial ones (which fit counts) without it.
Before, ``Forecaster("auto", ..., target_transform="log1p")`` stopped at fit with an error
naming ``distribution='negative_binomial'``, a setting the user never gave.

Negative binomial heads forecast whole counts: demand recorded in fractions (a panel in
tens of units, 0.3 kg a day) came out as 0 or 1 unit per period (every median 0 on a panel in
tens of units, where the same panel in units had medians near its mean). A negative binomial
fit refuses fractional demand by name; ``auto`` leaves its ``_nb`` networks out with a warning.
"""

from __future__ import annotations

import numpy as np
import pytest

from forecasting import Forecaster
from forecasting.spec import quantile_column
from forecasting.synthetic import generate_network
from training.config import TrainConfig

TINY = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False, seed=1)


def test_auto_with_a_target_transform_fits_saves_and_reloads(tmp_path):
    transform = "log1p"
    panel = generate_network(n_items=4, n_locations=1, n_days=90, seed=3, future_days=7)
    frame = panel.to_frame()
    forecaster = Forecaster(
        "auto", 7, spec=panel.spec, train=TINY, hidden_size=4, target_transform=transform
    )
    forecaster.fit(frame, run_dir=tmp_path / "run")
    networks = forecaster.model_.networks
    assert set(networks) == {"lstm", "tft", "lstm_nb", "tft_nb"}
    for name, network in networks.items():
        expected = "none" if name.endswith("_nb") else transform
        assert network.net.heads.transform == expected, name
    levels = [quantile_column(q) for q in forecaster.config.quantiles]
    table = forecaster.predict(frame)
    values = table[levels].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    loaded = Forecaster.load(tmp_path / "run")
    np.testing.assert_array_equal(loaded.predict(frame)[levels].to_numpy(), values)


def panel_in_tens():
    panel = generate_network(n_items=4, n_locations=1, n_days=90, seed=3, future_days=7)
    frame = panel.to_frame()
    frame["demand"] = frame["demand"] / 10  # 3 units -> 0.3 tens of units
    return panel.spec, frame


def test_a_negative_binomial_fit_refuses_fractional_demand():
    spec, frame = panel_in_tens()
    forecaster = Forecaster(
        "lstm", 7, spec=spec, train=TINY, hidden_size=4, distribution="negative_binomial"
    )
    with pytest.raises(ValueError, match="whole counts.*fractional"):
        forecaster.fit(frame)


def test_auto_leaves_the_negative_binomial_networks_out_on_fractional_demand():
    spec, frame = panel_in_tens()
    forecaster = Forecaster("auto", 7, spec=spec, train=TINY, hidden_size=4)
    with pytest.warns(UserWarning, match="negative binomial networks"):
        forecaster.fit(frame)
    assert set(forecaster.model_.networks) == {"lstm", "tft"}
    assert not any("_nb" in name for name in forecaster.model_.candidates)
    assert len(forecaster.predict(frame)) > 0

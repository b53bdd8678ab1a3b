"""Ensembles average their members' quantiles; ``auto`` picks per demand class, never ships a
model that lost to seasonal naive on validation, and both survive a run folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting import Forecaster, PanelSpec
from forecasting.metrics import demand_classes
from forecasting.models.ensemble import EnsembleNet
from training.auto import COMBINED
from training.config import TrainConfig

H = 7
FAST = TrainConfig(max_epochs=1, batches_per_epoch=3, batch_size=32, progress_bar=False)


@pytest.fixture(scope="module")
def store(small_network):
    return small_network.to_store()


def windows(store, origin: int):
    series = torch.arange(store.n_series)
    return series, torch.full_like(series, origin)


def test_an_ensemble_is_the_mean_of_its_members_and_round_trips(store, tmp_path):
    forecaster = Forecaster("lstm", H, spec=store.spec, train=FAST, hidden_size=8, ensemble=3)
    forecaster.fit(store, run_dir=tmp_path / "run")
    model = forecaster.model_
    assert isinstance(model.net, EnsembleNet) and len(model.net.members) == 3
    series, origins = windows(store, 200)
    together = model.predict_windows(store, series, origins)
    members = []
    for member in model.net.members:
        model.net, keep = member, model.net
        members.append(model.predict_windows(store, series, origins))
        model.net = keep
    np.testing.assert_allclose(together, np.mean(members, axis=0), rtol=1e-5, atol=1e-5)
    # Members start from different seeds: they are not copies of each other.
    assert not np.allclose(members[0], members[1])
    loaded = Forecaster.load(tmp_path / "run")
    np.testing.assert_array_equal(loaded.model_.predict_windows(store, series, origins), together)
    assert (tmp_path / "run" / "members" / "2" / "logs").is_dir()


def seasonal_panel(n_series: int = 12, n_days: int = 160) -> pd.DataFrame:
    """Series that repeat one week, plus a little noise: seasonal naive is nearly perfect, a
    barely trained network is not."""
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=n_days, freq="D")
    rows = []
    for s in range(n_series):
        week = rng.integers(0, 40, size=7).astype(float)
        rows.append(
            pd.DataFrame(
                {
                    "item_id": f"i{s}",
                    "location_id": "fc",
                    "date": dates,
                    "demand": np.tile(week, n_days // 7 + 1)[:n_days]
                    + rng.poisson(0.5, size=n_days),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_auto_keeps_seasonal_naive_where_it_wins(tmp_path):
    panel = seasonal_panel()
    spec = PanelSpec(freq="D")
    auto = Forecaster("auto", H, spec=spec, train=FAST, hidden_size=8)
    auto.fit(panel, run_dir=tmp_path / "auto")
    model = auto.model_
    scores = model.scores.set_index(["model", "demand_class"])["sql"]
    assert set(model.choice.values()) == {"seasonal_naive"}
    assert model.fallback == "seasonal_naive"
    for name in ("lstm", "tft", COMBINED, "moving_average"):
        assert scores[(name, "all")] > scores[("seasonal_naive", "all")]
    # Its forecast is seasonal naive's, step for step, and so is the loaded run's.
    forecast = auto.predict(panel)
    naive = Forecaster("seasonal_naive", H, spec=spec).fit(panel).predict(panel)
    pd.testing.assert_frame_equal(forecast, naive)
    loaded = Forecaster.load(tmp_path / "auto")
    pd.testing.assert_frame_equal(loaded.predict(panel), forecast)
    lead = loaded.predict(panel, cumulative=H)  # from the networks: baselines have no head
    assert lead["horizon"].max() == H and len(lead) == 12 * H


def test_auto_routes_each_demand_class_to_its_choice(store):
    auto = Forecaster("auto", H, spec=store.spec, train=FAST, hidden_size=8).fit(store)
    model = auto.model_
    # Whatever it chose, a class's windows get exactly that candidate's quantiles.
    model.choice = {"smooth": "moving_average", "intermittent": "lstm", "lumpy": COMBINED}
    model.fallback = "seasonal_naive"
    series, origins = windows(store, 200)
    routed = model.predict_windows(store, series, origins)
    classes = demand_classes(store, series, origins)
    every = model._candidate_forecasts(store, series, origins)
    for label in set(classes):
        rows = classes == label
        expected = every[model.choice.get(label, "seasonal_naive")][rows]
        np.testing.assert_allclose(routed[rows], expected, rtol=1e-6)
    np.testing.assert_allclose(
        every[COMBINED], (every["lstm"] + every["tft"]) / 2, rtol=1e-6, atol=1e-6
    )

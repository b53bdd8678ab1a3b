"""A weekly panel with 60 weeks of history and horizon 13 gets a 47-week encoder, shorter than
its 52-week season: forecast steps 6..13 read their period one season back from the encoder
(it read 0 before), while runs saved before keep forecasting exactly as they were trained."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting import Forecaster
from training import TrainConfig

H = 13


def weekly_table(history: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=history + H, freq="W-MON")
    frames = []
    for i in range(4):
        t = np.arange(len(dates))
        demand = rng.poisson(20 + 10 * np.sin(2 * np.pi * (t + 7 * i) / 52)).astype(float)
        demand[history:] = np.nan
        frames.append(
            pd.DataFrame({"item_id": f"i{i}", "location_id": "x", "date": dates, "demand": demand})
        )
    return pd.concat(frames, ignore_index=True)


def old_seasonal_inputs(encoder_target, encoder_mask, horizon, season, lag_before_season=True):
    """The inputs as runs saved before the fix were trained with: nothing once season > L."""
    batch, length = encoder_target.shape
    values = torch.stack([encoder_target, encoder_mask], dim=-1)
    if season > length:
        return values.new_zeros(batch, length, 2), values.new_zeros(batch, horizon, 2)
    encoder = torch.nn.functional.pad(values[:, : length - season], (0, 0, season, 0))
    steps = length - season + torch.arange(horizon) % season
    return encoder, values.index_select(1, steps)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("weekly")
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=8, progress_bar=False)
    forecaster = Forecaster("lstm", H, train=train, hidden_size=8)
    forecaster.fit(weekly_table(), run_dir=root / "new")
    # The same run in the format saved before the fix: no lag_before_season in its dims.
    shutil.copytree(root / "new", root / "old")
    manifest = json.loads((root / "old" / "manifest.json").read_text())
    assert manifest["model"]["dims"].pop("lag_before_season") is True
    (root / "old" / "manifest.json").write_text(json.dumps(manifest))
    return forecaster, root


@pytest.mark.slow
def test_a_run_saved_before_forecasts_as_it_was_trained(run, monkeypatch):
    forecaster, root = run
    model = forecaster.model_
    assert model.encoder_length == 47 and model.dims.season == 52
    frame = weekly_table()
    new = Forecaster.load(root / "new").predict(frame)
    old = Forecaster.load(root / "old")
    assert old.model_.dims.lag_before_season is False
    got = old.predict(frame)
    # The reference: the same weights with the inputs of the code before the fix.
    for module in ("forecasting.models.lstm", "forecasting.models.tft"):
        monkeypatch.setattr(f"{module}.seasonal_inputs", old_seasonal_inputs)
    expected = Forecaster.load(root / "new").predict(frame)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    # A new run reads the lag at steps 6..13 only: steps 1..5 are as before, and no NaN.
    quantiles = [c for c in new.columns if c.startswith("q")]
    assert np.isfinite(new[quantiles].to_numpy()).all()
    step = new.groupby(["item_id", "location_id"]).cumcount().to_numpy()
    before, after = new[quantiles].to_numpy(), expected[quantiles].to_numpy()
    np.testing.assert_array_equal(before[step < 5], after[step < 5])
    assert (np.abs(before[step >= 5] - after[step >= 5]).max(axis=1) > 0).all()


@pytest.mark.slow
def test_the_onnx_export_reads_the_lag_as_torch_does(run, tmp_path):
    from serving.export import export_run
    from serving.runtime import ForecastPackage

    forecaster, root = run
    frame = weekly_table()
    tables = {}
    for name in ("new", "old"):
        package = export_run(root / name, tmp_path / name)
        torch_table = Forecaster.load(root / name).predict(frame)
        tables[name] = ForecastPackage(package).predict(frame)
        values = [c for c in torch_table.columns if c.startswith("q")]
        np.testing.assert_allclose(tables[name][values], torch_table[values], rtol=1e-4, atol=1e-4)
    # The exported graphs differ where the lag is read (steps 6..13), as the torch paths do.
    step = tables["new"].groupby(["item_id", "location_id"]).cumcount().to_numpy()
    new, old = (tables[n][values].to_numpy() for n in ("new", "old"))
    np.testing.assert_allclose(new[step < 5], old[step < 5], rtol=1e-5, atol=1e-5)
    assert (np.abs(new[step >= 5] - old[step >= 5]).max(axis=1) > 1e-5).all()

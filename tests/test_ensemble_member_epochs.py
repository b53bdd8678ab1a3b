"""A seed ensemble's info gave member 0's epochs and early stop as the ensemble's, and
``forecast train`` printed the ensemble's validation loss "after" member 0's epoch count: each
member trains until its own early stop, so info lists one count per member and the line says
so."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import training.forecaster as forecaster_module
from forecasting import Forecaster, PanelSpec
from serving.cli.forecast import trained_line
from training import TrainConfig
from training.trainer import FitResult

FAST = TrainConfig(
    max_epochs=1, batches_per_epoch=1, batch_size=8, progress_bar=False, accelerator="cpu"
)


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2022-01-03", periods=40, freq="7D")
    return pd.DataFrame(
        [
            {"item_id": f"i{i}", "location_id": "l0", "date": d, "demand": float(rng.poisson(5))}
            for i in range(4)
            for d in dates
        ]
    )


def test_an_ensemble_lists_every_members_epochs(monkeypatch):
    calls = []

    def fit(*args, **kwargs):
        # Members that stop at different epochs: the second runs longer, without early stop
        # (the networks keep their initial weights: no Lightning loop, a fast test).
        calls.append(None)
        return FitResult(None, 0.5, len(calls) * 3, len(calls) == 1, True)

    monkeypatch.setattr(forecaster_module, "fit", fit)
    model = Forecaster(
        "lstm", horizon=4, spec=PanelSpec(), train=FAST, hidden_size=4, ensemble=2
    ).fit(_table())
    info = model.model_.info
    assert info["epochs"] == [3, 6]
    assert info["stopped_early"] == [True, False]
    line = trained_line("lstm", info)
    assert "an ensemble of 2" in line and "members trained 3, 6 epochs" in line, line


def test_a_single_network_keeps_its_count():
    info = {"best_val_loss": 0.25, "epochs": 7, "stopped_early": True}
    assert trained_line("lstm", info) == "trained lstm: best validation loss 0.2500 after 7 epochs"


@pytest.mark.parametrize("epochs", [[2, 5, 4]])
def test_the_line_names_no_single_count_for_an_ensemble(epochs):
    line = trained_line("tft", {"best_val_loss": 0.5, "epochs": epochs})
    assert "after" not in line and "2, 5, 4 epochs" in line

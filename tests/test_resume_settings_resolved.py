"""A resume compares the settings that change what the fit computes, not where it runs:
``--accelerator auto`` where the interrupted run gave ``cpu``, ``precision`` ``auto`` against
``32-true``, ``devices`` ``auto`` against 1 (or a run interrupted on a GPU resumed on a CPU), and
the default learning rate written out train the same model. Until 2026-12-07 each was refused
as "other settings" (``train.accelerator 'cpu' -> 'auto'``)."""

from __future__ import annotations

import dataclasses

from forecasting.config import ForecastConfig
from training import TrainConfig
from training.forecaster import default_learning_rate, resume_settings
from training.trainer import _plain


def test_where_a_fit_runs_and_the_default_rate_written_out_are_not_other_settings():
    config = ForecastConfig(model="lstm", horizon=7)
    auto = TrainConfig(accelerator="auto", precision="auto", devices="auto")
    for written in (
        TrainConfig(accelerator="cpu", precision="32-true", devices=1),
        TrainConfig(accelerator="cuda", precision="bf16-mixed", devices=2, num_nodes=2),
        TrainConfig(learning_rate=default_learning_rate(config)),
    ):
        assert _plain(resume_settings(config, auto, "d")) == _plain(
            resume_settings(config, written, "d")
        )
    # Settings that change the steps are still told apart.
    other = dataclasses.replace(auto, learning_rate=2 * default_learning_rate(config))
    assert resume_settings(config, auto, "d") != resume_settings(config, other, "d")
    assert resume_settings(config, auto, "d") != resume_settings(
        config, dataclasses.replace(auto, seed=1), "d"
    )
    assert resume_settings(config, auto, "d") != resume_settings(config, auto, "other data")

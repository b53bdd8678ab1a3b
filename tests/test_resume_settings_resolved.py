"""A resume compares the settings that change what the fit computes, not where it runs:
``--accelerator auto`` where the interrupted run gave ``cpu``, ``precision`` ``auto`` against
``32-true``, ``devices`` ``auto`` against 1 (or a run interrupted on a GPU resumed on a CPU), and
the default learning rate written out train the same model. Until 2026-12-07 each was refused
as "other settings" (``train.accelerator 'cpu' -> 'auto'``)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from forecasting.config import ForecastConfig
from training import TrainConfig
from training.forecaster import default_learning_rate, resume_settings
from training.trainer import SETTINGS_KEY, _plain, check_resumable


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


def test_a_setting_only_one_side_records_is_not_a_difference(tmp_path):
    """A later version that records (or stops comparing) a setting still resumes the checkpoints
    of the version before: only the settings both record are compared."""
    net = torch.nn.Linear(2, 1)
    path = tmp_path / "last.ckpt"
    recorded = {"train.seed": 0, "train.accelerator": "auto"}
    checkpoint = {"state_dict": net.state_dict(), "optimizer_states": [], "loops": {}}
    torch.save({**checkpoint, SETTINGS_KEY: recorded}, path)
    check_resumable(path, net, {"train.seed": 0, "train.new_setting": 3})
    with pytest.raises(ValueError, match=r"train.seed 0 -> 1"):
        check_resumable(path, net, {"train.seed": 1})

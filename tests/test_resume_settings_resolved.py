"""A resume compares the settings as this machine resolves them: ``--accelerator auto`` where
the interrupted run gave ``cpu`` (on a machine without CUDA), ``precision`` ``auto`` against
the ``32-true`` it resolves to, ``devices`` ``auto`` against 1, and the default learning rate or
encoder length written out train the same steps. Until 2026-12-07 each was refused as "other
settings" (``train.accelerator 'cpu' -> 'auto'``)."""

from __future__ import annotations

import dataclasses

from forecasting.config import ForecastConfig
from training import TrainConfig
from training.devices import resolve_accelerator
from training.forecaster import default_learning_rate, resume_settings
from training.trainer import _plain


def test_auto_and_what_it_resolves_to_are_one_setting():
    config = ForecastConfig(model="lstm", horizon=7)
    auto = TrainConfig(accelerator="auto", precision="auto", devices="auto")
    kind = resolve_accelerator("auto")
    written = TrainConfig(
        accelerator=kind,
        precision="32-true" if kind == "cpu" else auto.precision,
        devices=1 if kind == "cpu" else auto.devices,
        learning_rate=default_learning_rate(config),
    )
    if kind == "cuda":  # the precision auto resolves to on this GPU
        from training.devices import resolve_precision

        written = dataclasses.replace(written, precision=resolve_precision("auto", "cuda"))
    assert _plain(resume_settings(config, auto, "d")) == _plain(
        resume_settings(config, written, "d")
    )
    # Settings that change the steps are still told apart.
    other = dataclasses.replace(auto, learning_rate=2 * default_learning_rate(config))
    assert resume_settings(config, auto, "d") != resume_settings(config, other, "d")
    assert resume_settings(config, auto, "d") != resume_settings(
        config, dataclasses.replace(auto, seed=1), "d"
    )

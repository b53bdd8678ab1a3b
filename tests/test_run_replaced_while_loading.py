"""A run folder replaced (``forecast train --out RUN --overwrite``) between the hash check of
``Forecaster.load`` and its reading the weights by name: the new run's weights were loaded with
the old run's settings, a model neither run is, without a word. It is refused, naming the run."""

import shutil

import pytest
import torch

import training.forecaster as forecaster_module
from forecasting import Forecaster
from kernels.io import FileError


def test_a_run_replaced_while_it_loads_is_refused(lstm_package, tmp_path, monkeypatch):
    _, _, root = lstm_package
    run, other = tmp_path / "run", tmp_path / "other"
    shutil.copytree(root / "runs" / "lstm", run)
    # Another run of the same network: other weights, so other files.
    second = Forecaster.load(run)
    with torch.no_grad():
        for weight in second.model_.net.parameters():
            weight.add_(1.0)
    second.save(other)
    checked = forecaster_module.read_manifest

    def replaced_after_the_check(folder, *args, **kwargs):
        manifest = checked(folder, *args, **kwargs)
        monkeypatch.setattr(forecaster_module, "read_manifest", checked)
        shutil.rmtree(run)  # what a writer with --overwrite publishes meanwhile
        shutil.copytree(other, run)
        return manifest

    monkeypatch.setattr(forecaster_module, "read_manifest", replaced_after_the_check)
    with pytest.raises(FileError, match="replaced while it was loaded"):
        Forecaster.load(run)
    Forecaster.load(run)  # the run now there loads

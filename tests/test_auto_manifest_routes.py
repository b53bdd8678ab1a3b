"""An auto run whose manifest routes a demand class to a model it does not hold (edited by
hand) is refused on load, naming the manifest and the route; it loaded and every forecast of
such a class failed with a bare KeyError."""

from __future__ import annotations

import json
import shutil

import pytest

from forecasting import Forecaster
from forecasting.synthetic import generate_network
from kernels.io import FileError
from training import TrainConfig


@pytest.mark.slow
def test_a_route_to_a_model_the_run_lacks_is_named_on_load(tmp_path):
    network = generate_network(n_items=3, n_locations=1, n_days=80, seed=1, future_days=4)
    train = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=16, progress_bar=False)
    auto = Forecaster(
        "auto", 4, spec=network.spec, train=train, hidden_size=4,
        auto_distributions=("quantile",), auto_gbm=False,
    )  # fmt: skip
    auto.fit(network.to_frame()).save(tmp_path / "run")
    assert Forecaster.load(tmp_path / "run").model_.choice == auto.model_.choice
    for entry, value in (("fallback", "nonesuch"), ("choice", {"smooth": "gbm"})):
        shutil.copytree(tmp_path / "run", tmp_path / entry)
        path = tmp_path / entry / "manifest.json"
        manifest = json.loads(path.read_text())
        manifest["model"][entry] = value
        path.write_text(json.dumps(manifest))
        wrong = "nonesuch" if entry == "fallback" else "gbm"
        with pytest.raises(FileError, match=rf"manifest\.json: entry 'model'.*\['{wrong}'\]"):
            Forecaster.load(tmp_path / entry)

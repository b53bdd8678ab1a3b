"""A package the current code exports is read differently by a service of 2026-12-04/05: its
static reals are z-scored with the training table's ``static_stats`` (a reader of then z-scored
them over the request's own series: a one-SKU /v1/forecast read every static real as 0) and its
real covariates with the series' history alone. Both readers accepted the same format, so an
old service served the new package with silently different forecasts. A package now names a
format an old reader refuses by name, and the current reader still reads the packages of then."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from forecasting import Forecaster
from forecasting.synthetic import generate_network
from kernels.io import FileError
from kernels.runfolder import read_manifest
from serving.export import export_run
from serving.runtime import ForecastPackage
from training import TrainConfig

OLD_FORMAT = "stockcast.package/1"  # what readers of 2026-12-04 and 2026-12-05 accept


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("package_format")
    net = generate_network(n_items=6, n_locations=2, n_days=120, seed=3, future_days=7)
    frame = net.to_frame()
    codes = frame["item_id"].astype(str).str[-1].astype(int)
    frame["pack_size"] = (10.0 + 5.0 * (codes % 3)).astype("float32")
    spec = dataclasses.replace(net.spec, static_reals=("pack_size",))
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False)
    forecaster = Forecaster("lstm", 7, spec=spec, train=train, hidden_size=8)
    forecaster.fit(frame, run_dir=root / "run")
    return export_run(root / "run", root / "repo"), frame


def test_a_reader_of_the_old_format_refuses_a_package_it_would_misread(exported):
    package, _ = exported
    manifest = json.loads((package / "manifest.json").read_text())
    assert manifest["preprocessing"]["static_stats"]  # what an old reader ignores
    with pytest.raises(FileError, match="format"):
        read_manifest(package, task="forecast", format=OLD_FORMAT)


def test_packages_of_the_old_format_are_still_read(exported, tmp_path):
    package, frame = exported
    old = tmp_path / "old"
    old.mkdir()
    for file in package.iterdir():
        (old / file.name).write_bytes(file.read_bytes())
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["format"] = OLD_FORMAT
    (old / "manifest.json").write_text(json.dumps(manifest))
    a, b = ForecastPackage(package).predict(frame), ForecastPackage(old).predict(frame)
    q = [c for c in a.columns if c.startswith("q")]
    assert np.array_equal(a[q].to_numpy(), b[q].to_numpy())

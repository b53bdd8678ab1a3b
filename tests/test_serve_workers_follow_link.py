"""`serve --workers N` over a repository reached through a symbolic link (a release switched
by `ln -sfn`) follows the link on every scan, as one worker does: the workers must not pin the
release the link named when the command started."""

from __future__ import annotations

import os
import shutil

import pytest
import uvicorn
from fastapi.testclient import TestClient

from serving.cli import main
from serving.service import app as service_app


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    from forecasting import Forecaster
    from forecasting.synthetic import generate_network
    from serving.export import export_run
    from training import TrainConfig

    root = tmp_path_factory.mktemp("symlinked_repo")
    net = generate_network(n_items=4, n_locations=2, n_days=90, seed=3, future_days=14)
    train = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=16, progress_bar=False)
    forecaster = Forecaster("lstm", 7, spec=net.spec, train=train, hidden_size=8)
    forecaster.fit(net.to_frame(), run_dir=root / "run")
    return export_run(root / "run", root / "repo", "lstm")


def _switch(link, target):
    staged = link.parent / ".models.new"
    staged.symlink_to(target, target_is_directory=True)
    os.replace(staged, link)  # what `ln -sfn` does, atomically


def test_workers_follow_the_repository_link_when_the_release_changes(
    package, tmp_path, monkeypatch
):
    old, new = tmp_path / "releases" / "r1", tmp_path / "releases" / "r2"
    shutil.copytree(package, old / "lstm" / "1")
    shutil.copytree(package, new / "lstm" / "1")
    shutil.copytree(package, new / "lstm" / "2")
    link = tmp_path / "models"
    link.symlink_to(old, target_is_directory=True)
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: None)  # no worker processes
    for name in ("STOCKCAST_REPO", "STOCKCAST_SERVICE_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    assert main(["serve", "--repo", str(link), "--workers", "2", "--reload-s", "600"]) == 0
    with TestClient(service_app.factory()) as client:  # what each worker process runs
        assert client.get("/v2/models/lstm").json()["versions"] == ["1"]
        _switch(link, new)
        client.app.state.repository.scan()
        assert client.get("/v2/models/lstm").json()["versions"] == ["1", "2"]

"""An export that fails after its package folder is renamed into place but before the version
is recorded in ``.published`` left a served package whose number was handed out again once it
was removed (a rollback): a client pinning ``champion/2`` then got another model. The record
is written before the package appears, and taken back when the package never does."""

import errno
import shutil
from contextlib import contextmanager

import pytest

import serving.export as export
from kernels.runfolder import building, write_manifest
from serving.package import PUBLISHED, read_package, versions


@pytest.fixture
def run(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    folder.mkdir()
    write_manifest(folder, "forecast", config={})
    graphs = iter(["graph of model A", "graph of model B", "graph of model C", "graph D"])

    def entries(run_dir, package, network=None):
        (package / "model.onnx").write_text(next(graphs))
        return {}

    monkeypatch.setattr(export, "_forecast_entries", entries)
    return folder


def _full_disk(*args):
    raise OSError(errno.ENOSPC, "No space left on device")


def _failing_building(after_rename: bool):
    """``building`` whose block fails with a full disk, before or after the folder's rename."""

    @contextmanager
    def failing(target, **kwargs):
        with building(target, **kwargs) as folder:
            yield folder
            if not after_rename:
                _full_disk()
        _full_disk()

    return failing


def test_an_export_that_fails_serves_nothing(tmp_path, run, monkeypatch):
    """The record fails (a full disk): the export fails, and no package is left served."""
    repo = tmp_path / "repo"
    export.export_run(run, repo, name="champion")
    monkeypatch.setattr(export, "record_published", _full_disk)
    with pytest.raises(OSError):
        export.export_run(run, repo, name="champion")
    assert versions(repo, "champion") == [1]
    assert sorted(p.name for p in (repo / "champion").iterdir()) == ["1"]
    assert not (repo / PUBLISHED / "champion" / "2").exists()


def test_a_served_version_keeps_its_number_when_the_export_fails_after_it(
    tmp_path, run, monkeypatch
):
    """The package appears, then the export fails (its record was written before the
    rename): the number stays taken after the version is removed."""
    repo = tmp_path / "repo"
    export.export_run(run, repo, name="champion")
    monkeypatch.setattr(export, "building", _failing_building(after_rename=True))
    with pytest.raises(OSError):
        export.export_run(run, repo, name="champion")
    monkeypatch.setattr(export, "building", building)
    assert versions(repo, "champion") == [1, 2]  # published: it is served
    pinned = read_package(repo / "champion" / "2")["files"]["model.onnx"]
    shutil.rmtree(repo / "champion" / "2")  # rolled back
    third = export.export_run(run, repo, name="champion")
    assert third.name == "3"
    assert read_package(third)["files"]["model.onnx"] != pinned


def test_a_version_never_published_is_not_recorded(tmp_path, run, monkeypatch):
    """The rename itself fails: no package, no record, and --version 2 can be retried."""
    repo = tmp_path / "repo"
    export.export_run(run, repo, name="champion")
    monkeypatch.setattr(export, "building", _failing_building(after_rename=False))
    with pytest.raises(OSError):
        export.export_run(run, repo, name="champion", version="2")
    monkeypatch.setattr(export, "building", building)
    assert versions(repo, "champion") == [1]
    assert not (repo / PUBLISHED / "champion" / "2").exists()
    assert export.export_run(run, repo, name="champion", version="2").name == "2"

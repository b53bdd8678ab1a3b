"""A version removed from the repository (a rollback) keeps its number: the next export takes
a new one, so a number pinned by a client or recorded with a forecast names one model only.
An explicit `--version` of that number is refused too (only the automatic number skipped it,
so `export --version 2` after champion/2 was removed published another model as champion/2)."""

import shutil

import pytest

import serving.export as export
from kernels.io import FileError
from kernels.runfolder import write_manifest
from serving.package import read_package, versions


@pytest.fixture
def run(tmp_path, monkeypatch):
    """A forecast run whose every export writes another graph (models A, B, C)."""
    folder = tmp_path / "run"
    folder.mkdir()
    write_manifest(folder, "forecast", config={})
    graphs = iter(["graph of model A", "graph of model B", "graph of model C"])

    def entries(run_dir, package, network=None):
        (package / "model.onnx").write_text(next(graphs))
        return {}

    monkeypatch.setattr(export, "_forecast_entries", entries)
    return folder


def test_the_export_after_a_rollback_does_not_reuse_the_removed_number(tmp_path, run):
    repo = tmp_path / "repo"
    assert export.export_run(run, repo, name="champion").name == "1"
    second = export.export_run(run, repo, name="champion")
    assert second.name == "2"
    pinned = read_package(second)["files"]["model.onnx"]  # what "champion/2" answered with
    shutil.rmtree(second)  # rolled back: champion/2 is withdrawn
    third = export.export_run(run, repo, name="champion")
    assert third.name == "3"
    assert versions(repo, "champion") == [1, 3]
    assert not (repo / "champion" / "2").exists()
    assert read_package(third)["files"]["model.onnx"] != pinned


def test_an_explicit_version_does_not_reuse_a_removed_number(tmp_path, run):
    repo = tmp_path / "repo"
    export.export_run(run, repo, name="champion")
    second = export.export_run(run, repo, name="champion")
    pinned = read_package(second)["files"]["model.onnx"]
    shutil.rmtree(second)  # rolled back: champion/2 is withdrawn
    with pytest.raises(FileError, match="version 2 was published before"):
        export.export_run(run, repo, name="champion", version="2")
    assert not (repo / "champion" / "2").exists()
    third = export.export_run(run, repo, name="champion", version="3")
    assert read_package(third)["files"]["model.onnx"] != pinned

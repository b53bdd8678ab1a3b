"""A version removed in a rollback keeps its number also against an explicit --version: the
README promises that a client pinning it never gets another model, but `export --version 2`
after champion/2 was removed published another model as champion/2 (only the automatic number
skipped it)."""

import shutil

import pytest

import serving.export as export
from kernels.io import FileError
from kernels.runfolder import write_manifest
from serving.package import read_package


def test_an_explicit_version_does_not_reuse_a_removed_number(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    write_manifest(run, "forecast", config={})
    graphs = iter(["graph of model A", "graph of model B", "graph of model C"])

    def entries(run_dir, folder):
        (folder / "model.onnx").write_text(next(graphs))
        return {}

    monkeypatch.setattr(export, "_forecast_entries", entries)
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

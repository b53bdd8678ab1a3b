"""A version removed from the repository (a rollback) keeps its number: the next export takes
a new one, so a number pinned by a client or recorded with a forecast names one model only."""

import shutil

import serving.export as export
from kernels.runfolder import write_manifest
from serving.package import read_package, versions


def test_the_export_after_a_rollback_does_not_reuse_the_removed_number(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    write_manifest(run, "forecast", config={})
    graphs = iter(["graph of model A", "graph of model B", "graph of model C"])

    def entries(run_dir, folder):
        (folder / "model.onnx").write_text(next(graphs))
        return {}

    monkeypatch.setattr(export, "_forecast_entries", entries)
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

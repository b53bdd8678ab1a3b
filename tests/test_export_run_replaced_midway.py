"""An export reads the run's settings and metrics, then its network: a run published in its
place in between (`forecast train --out RUN --overwrite` finishing, `inspect calibrate`) made a
package whose manifest described one network (its validation loss, data fingerprint, settings)
while its graph was the other's. A user choosing or auditing a package by its manifest relies
on the two being of one run: the export must be refused, and nothing published."""

import os

import pytest

import serving.export as export
from kernels.io import FileError
from kernels.runfolder import update_manifest, write_manifest
from serving.package import versions


def _run(folder, loss):
    folder.mkdir()
    (folder / "model.pt").write_text(f"weights of the run with loss {loss}")
    write_manifest(folder, "forecast", config={}, metrics={"best_val_loss": loss})
    return folder


def test_a_run_replaced_while_it_is_exported_is_not_published(tmp_path, monkeypatch):
    run = _run(tmp_path / "run", 1.0)
    other = _run(tmp_path / "other", 2.0)
    repo = tmp_path / "repo"

    def entries(run_dir, folder, network=None):  # the network is read after the run was replaced
        os.replace(run, tmp_path / "old")
        os.replace(other, run)
        (folder / "model.onnx").write_text((run_dir / "model.pt").read_text())
        return {}

    monkeypatch.setattr(export, "_forecast_entries", entries)
    with pytest.raises(FileError, match="replaced"):
        export.export_run(run, repo, name="champion")
    assert versions(repo, "champion") == []


def test_a_run_recalibrated_while_it_is_exported_is_not_published(tmp_path, monkeypatch):
    run = _run(tmp_path / "run", 1.0)
    repo = tmp_path / "repo"

    # `inspect calibrate` rewrites the run's manifest meanwhile
    def entries(run_dir, folder, network=None):
        update_manifest(run_dir, metrics={"best_val_loss": 1.0, "calibration": {"auroc": 0.5}})
        return {}

    monkeypatch.setattr(export, "_forecast_entries", entries)
    with pytest.raises(FileError, match="recalibrated"):
        export.export_run(run, repo, name="champion")
    assert versions(repo, "champion") == []


def test_an_unchanged_run_is_exported(tmp_path, monkeypatch):
    run = _run(tmp_path / "run", 1.0)
    monkeypatch.setattr(export, "_forecast_entries", lambda run_dir, folder, network=None: {})
    assert export.export_run(run, tmp_path / "repo", name="champion").name == "1"

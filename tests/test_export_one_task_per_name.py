"""One package name holds one task: exporting an inspection run under a forecast model's name
is refused (the service resolves a name to its newest version, so every unpinned forecast
request would get an error) and the forecast versions stay as they were."""

import pytest

import serving.export as export
import serving.export.inspection as inspection_export
from kernels.io import FileError
from kernels.runfolder import write_manifest
from serving.package import versions


def _run(folder, task):
    folder.mkdir()
    write_manifest(folder, task, config={})
    return folder


def test_a_run_of_another_task_is_refused_under_a_name_in_use(tmp_path, monkeypatch):
    forecast = _run(tmp_path / "forecast_run", "forecast")
    inspection = _run(tmp_path / "inspection_run", "inspection")
    monkeypatch.setattr(export, "_forecast_entries", lambda run_dir, folder, network=None: {})
    monkeypatch.setattr(inspection_export, "export_inspection", lambda *a, **k: {})
    repo = tmp_path / "repo"
    assert export.export_run(forecast, repo, name="champion").name == "1"
    with pytest.raises(FileError, match="holds forecast models"):
        export.export_run(inspection, repo, name="champion")
    assert versions(repo, "champion") == [1]
    assert export.export_run(inspection, repo, name="inspect").name == "1"  # its own name
    assert export.export_run(forecast, repo, name="champion").name == "2"  # same task: fine

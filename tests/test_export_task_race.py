"""One package name holds one task, also when two exports of different tasks under one new
name run at once: the task was checked before the export started and never again, so both
published (a forecast version and an inspection version under one name, and every unpinned
request for the name answered by whichever task published the higher number)."""

import pytest

import serving.export as export
import serving.export.inspection as inspection_export
from kernels.io import FileError, read_json
from kernels.runfolder import write_manifest
from serving.package import versions


def _run(folder, task):
    folder.mkdir()
    write_manifest(folder, task, config={})
    return folder


def test_exports_of_two_tasks_under_one_name_at_once_publish_one_task(tmp_path, monkeypatch):
    forecast = _run(tmp_path / "forecast_run", "forecast")
    inspection = _run(tmp_path / "inspection_run", "inspection")
    repo = tmp_path / "repo"
    inner: dict[str, object] = {}

    # while the forecast graph is written and checked, an inspection export of the name runs
    def forecast_entries(run_dir, folder, network=None):
        (folder / "model.onnx").write_text("graph")
        if not inner:
            inner["path"] = export.export_run(inspection, repo, name="champion")
        return {}

    monkeypatch.setattr(export, "_forecast_entries", forecast_entries)
    monkeypatch.setattr(inspection_export, "export_inspection", lambda *a, **k: {})
    with pytest.raises(FileError, match="holds inspection models"):
        export.export_run(forecast, repo, name="champion")
    tasks = {
        number: read_json(repo / "champion" / str(number) / "manifest.json")["task"]
        for number in versions(repo, "champion")
    }
    assert tasks == {2: "inspection"}
    assert not (repo / "champion" / ".1.partial").exists()
    assert not (repo / "champion" / ".1.lock").exists()

"""Two exports of one name at once without --version: the second takes the next version
instead of being refused."""

import pytest

import serving.export as export
from kernels.io import FileError
from kernels.runfolder import write_manifest
from serving.package import read_package, versions


@pytest.fixture
def run(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    write_manifest(folder, "forecast", config={})
    return folder


def test_an_export_while_another_of_the_same_name_is_written_takes_the_next_version(
    run, tmp_path, monkeypatch
):
    repo = tmp_path / "repo"
    inner: dict[str, object] = {}

    # the graph is written; meanwhile a second export starts
    def entries(run_dir, folder, network=None):
        (folder / "model.onnx").write_text("graph")
        if not inner:
            inner["path"] = "started"
            inner["path"] = export.export_run(run, repo, name="champion")
        return {}

    monkeypatch.setattr(export, "_forecast_entries", entries)
    outer = export.export_run(run, repo, name="champion")
    assert sorted([outer.name, inner["path"].name]) == ["1", "2"]
    assert versions(repo, "champion") == [1, 2]
    for folder in (outer, inner["path"]):
        assert read_package(folder)["version"] == folder.name
    assert sorted(p.name for p in (repo / "champion").iterdir()) == ["1", "2"]


def test_an_export_finding_the_next_version_published_meanwhile_takes_the_one_after(
    run, tmp_path, monkeypatch
):
    repo = tmp_path / "repo"
    real = export.next_version

    def counted_before_the_other_published(repo_, name):  # 1 was free when counted...
        answer = real(repo_, name)
        (repo / "champion" / "1").mkdir(parents=True, exist_ok=True)  # ...then published
        (repo / "champion" / "1" / "manifest.json").write_text("{}")
        return answer

    monkeypatch.setattr(export, "next_version", counted_before_the_other_published)
    monkeypatch.setattr(export, "_forecast_entries", lambda run_dir, folder, network=None: {})
    assert export.export_run(run, repo, name="champion").name == "2"


def test_a_version_given_is_still_refused_while_another_export_writes_it(
    run, tmp_path, monkeypatch
):
    repo = tmp_path / "repo"
    seen: list[BaseException] = []

    def entries(run_dir, folder, network=None):
        if not seen:
            with pytest.raises(FileError, match="another stockcast process") as info:
                export.export_run(run, repo, name="champion", version="1")
            seen.append(info.value)
        return {}

    monkeypatch.setattr(export, "_forecast_entries", entries)
    assert export.export_run(run, repo, name="champion").name == "1"
    assert seen and versions(repo, "champion") == [1]

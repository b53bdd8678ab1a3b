"""A version copied into the repository by hand (the README's "copied in file by file" way to
promote a package) and served keeps its number after it is removed (a rollback): the next
export takes a new one. A client that pinned the number while it was served relies on never
getting another model under it; only exported versions were remembered, so the next export
after the rollback published another model under the removed version's number."""

import shutil

import serving.export as export
from kernels.runfolder import write_manifest
from serving.package import next_version
from serving.service import repository
from serving.service.repository import ModelRepository


def test_a_served_version_copied_in_by_hand_keeps_its_number_after_a_rollback(
    lstm_package, tmp_path, monkeypatch
):
    repo = tmp_path / "repo"
    shutil.copytree(lstm_package[1], repo / "lstm" / "3")  # promoted from another repository
    assert sorted(ModelRepository(repo).scan().models["lstm"]) == ["3"]  # clients pin lstm/3
    shutil.rmtree(repo / "lstm" / "3")  # rolled back

    assert next_version(repo, "lstm") == "4"
    run = tmp_path / "run"
    run.mkdir()
    write_manifest(run, "forecast", config={})
    monkeypatch.setattr(export, "_forecast_entries", lambda run_dir, folder, network=None: {})
    assert export.export_run(run, repo, name="lstm").name == "4"


def test_a_repository_the_service_may_not_write_in_is_still_served(
    lstm_package, tmp_path, monkeypatch
):
    repo = tmp_path / "repo"
    shutil.copytree(lstm_package[1], repo / "lstm" / "1")

    def read_only(*args):
        raise PermissionError(13, "Permission denied", str(repo / ".published"))

    monkeypatch.setattr(repository, "record_published", read_only)
    assert sorted(ModelRepository(repo).scan().models["lstm"]) == ["1"]

"""Run-folder lock: a lock left by a killed writer is free whatever pid it names, and two
writers arriving at such a lock never both write; a manifest update does not list another
process's temporary file."""

import os
import threading

import pytest

from kernels import runfolder
from kernels.io import FileError, write_json
from kernels.runfolder import read_manifest, update_manifest, write_manifest


def test_a_lock_left_by_a_killed_writer_whose_pid_is_reused_is_free(tmp_path):
    """A writer killed with -9 left its lock; the rerun got its pid (a fresh container): it was
    refused forever as 'another stockcast process (pid N)', N being itself."""
    target = tmp_path / "repo" / "tft" / "1"
    target.parent.mkdir(parents=True)
    (target.parent / ".1.partial").mkdir()
    (target.parent / ".1.partial" / "model.onnx").write_text("half")
    (target.parent / ".1.lock").write_text(str(os.getpid()))  # a live pid: this process
    with runfolder.building(target) as folder:
        (folder / "model.onnx").write_text("full")
    assert (target / "model.onnx").read_text() == "full"
    assert sorted(p.name for p in target.parent.iterdir()) == ["1"]


def test_two_writers_at_a_stale_lock_do_not_both_write(tmp_path, monkeypatch):
    """B finds the lock left by a dead writer stale; A then removes it and takes its own; B
    removed A's lock and wrote too: A reported its folder published while the target was gone
    (left as '.1.replaced'), or published B's files under A's name."""
    target = tmp_path / "repo" / "m" / "1"
    target.parent.mkdir(parents=True)
    (target.parent / ".1.lock").write_text("999999999")  # no such process
    b_checked, a_inside, b_done, a_done = (threading.Event() for _ in range(4))
    real_kill = os.kill

    def kill(pid, sig):  # B's look at the dead pid, held until A is inside
        if pid == 999999999 and threading.current_thread().name == "B":
            b_checked.set()
            a_inside.wait(5)
        return real_kill(pid, sig)

    monkeypatch.setattr(os, "kill", kill)
    outcome: dict[str, object] = {}

    def writer_b() -> None:
        try:
            with runfolder.building(target) as folder:
                (folder / "b.txt").write_text("B")
                b_checked.set()
                b_done.set()
                a_done.wait(5)
            outcome["B"] = "published"
        except Exception as exc:  # the type is the point
            outcome["B"] = exc
        finally:
            b_done.set()

    thread = threading.Thread(target=writer_b, name="B")
    thread.start()
    try:
        assert b_checked.wait(5)
        try:
            with runfolder.building(target) as folder:
                (folder / "a.txt").write_text("A")
                a_inside.set()
                b_done.wait(5)
            outcome["A"] = "published"
        except FileError as exc:
            outcome["A"] = exc
        finally:
            a_inside.set()
            a_done.set()
    finally:
        thread.join(timeout=20)
    assert outcome["B"] == "published", outcome
    assert isinstance(outcome["A"], FileError) and "another stockcast process" in str(outcome["A"])
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["1"]


if __name__ == "__main__":
    pytest.main([__file__, "-q"])


def test_a_manifest_written_meanwhile_by_another_process_is_not_listed(tmp_path, monkeypatch):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "weights.pt").write_bytes(b"w" * 100)
    write_manifest(folder, "inspection", config={})
    # Writer A is inside kernels.io.atomic_path: its temporary manifest is in the folder.
    theirs = folder / ".manifest.json.k3j9x2ab.tmp"
    write_json({"format": runfolder.FORMAT, "from": "A"}, theirs)

    def a_publishes_then_b_writes(manifest, path):
        os.replace(theirs, folder / "manifest.json")  # A renames its file into place
        return write_json(manifest, path)  # then B's manifest replaces it

    monkeypatch.setattr(runfolder, "write_json", a_publishes_then_b_writes)
    update_manifest(folder, thresholds={"damage": 0.5})  # writer B
    manifest = read_manifest(folder)  # every listed file present and unchanged
    assert sorted(manifest["files"]) == ["weights.pt"]
    assert manifest["thresholds"] == {"damage": 0.5}


def test_files_of_the_run_are_still_all_listed(tmp_path):
    folder = tmp_path / "run"
    (folder / "sub").mkdir(parents=True)
    for name in ("weights.pt", ".hidden", "sub/x.tmp", "a.tmp"):
        (folder / name).write_text(name)
    manifest = write_manifest(folder, "inspection", config={})
    assert sorted(manifest["files"]) == [".hidden", "a.tmp", "sub/x.tmp", "weights.pt"]

"""Run-folder lock: a failure to write the holder's pid into the lock file (a full disk) after
the flock was taken left the descriptor open: the process (a long-running service, a notebook)
kept the folder locked, every later writer refused as 'another stockcast process'.

Run-folder lock in a shared repository: a lock file left by another user's killed writer
(mode 0644, not writable by this user) made every later writer fail with a raw PermissionError
(the folder could never be written again until someone removed the file by hand). flock takes
a read-only descriptor: such a file is free when no writer holds it, and held when one does.
"""

import errno
import fcntl
import os
import pathlib
from contextlib import suppress

import pytest

from kernels import runfolder
from kernels.io import FileError


def test_a_failed_pid_write_does_not_keep_the_folder_locked(tmp_path, monkeypatch):
    target = tmp_path / "run"

    def full(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(runfolder.os, "write", full)
        with suppress(OSError), runfolder.building(target) as folder:
            (folder / "a.txt").write_text("first")
    # the disk has room again: this process (and any other) writes the folder
    with runfolder.building(target, overwrite=True) as folder:
        (folder / "a.txt").write_text("second")
    assert (target / "a.txt").read_text() == "second"
    assert not (tmp_path / ".run.lock").exists()


def test_a_failure_after_the_lock_closes_its_descriptor(tmp_path, monkeypatch):
    closed = []
    real_close = os.close

    def ftruncate(fd, size):
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    real_stat = os.stat
    lock = tmp_path / ".run.lock"

    def stat(path, *args, **kwargs):
        if str(path) == str(lock):
            raise KeyboardInterrupt  # Ctrl-C between the flock and the return
        return real_stat(path, *args, **kwargs)

    def close(fd):
        closed.append(fd)
        real_close(fd)

    monkeypatch.setattr(runfolder.os, "close", close)
    monkeypatch.setattr(runfolder.os, "stat", stat)
    with suppress(KeyboardInterrupt):
        runfolder._acquire(lock, tmp_path / "run")
    monkeypatch.undo()
    assert len(closed) == 1
    monkeypatch.setattr(runfolder.os, "ftruncate", ftruncate)
    fd = runfolder._acquire(lock, tmp_path / "run")  # the quota: the lock is taken all the same
    os.close(fd)


@pytest.fixture
def foreign_lock(tmp_path, monkeypatch):
    """``.run.lock`` left by another user: this one may read it, not write it (as root, chmod
    alone does not stop the write, so the open is refused here)."""
    lock = tmp_path / ".run.lock"
    lock.write_text("12345")
    lock.chmod(0o644)
    real_open = os.open

    def open_(path, flags, *args, **kwargs):
        if str(path) == str(lock) and flags & (os.O_WRONLY | os.O_RDWR):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(runfolder.os, "open", open_)
    return lock


def test_a_stale_lock_file_of_another_user_is_free(tmp_path, foreign_lock):
    with runfolder.building(tmp_path / "run") as folder:
        (folder / "a.txt").write_text("x")
    assert (tmp_path / "run" / "a.txt").read_text() == "x"


def test_a_held_lock_file_of_another_user_refuses_by_name(tmp_path, foreign_lock):
    refused = r"another stockcast process \(pid 12345\)"
    with open(foreign_lock) as holder:  # another writer holds it
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(FileError, match=refused), runfolder.building(tmp_path / "run"):
            pass
    assert not (tmp_path / "run").exists()


def test_a_lock_file_that_cannot_be_removed_is_released(tmp_path, foreign_lock, monkeypatch):
    """In a folder with the sticky bit another user's file cannot be removed: the publish
    still succeeds and the lock is free afterwards."""
    real_unlink = pathlib.Path.unlink

    def unlink(self, missing_ok=False):
        if self == foreign_lock:
            raise PermissionError(1, "Operation not permitted", str(self))
        return real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(pathlib.Path, "unlink", unlink)
    for text in ("first", "second"):
        with runfolder.building(tmp_path / "run", overwrite=True) as folder:
            (folder / "a.txt").write_text(text)
        assert (tmp_path / "run" / "a.txt").read_text() == text

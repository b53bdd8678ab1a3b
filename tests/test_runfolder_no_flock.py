"""A run folder on a file system without flock (NFS without its lock daemon: ENOLCK; Lustre
without the flock mount option: ENOSYS) was written before the lock became an flock; since,
every building() there failed with a raw OSError."""

import errno
import warnings

import pytest

from kernels import runfolder


@pytest.mark.parametrize("code", [errno.ENOLCK, errno.ENOSYS])
def test_building_without_flock_support(tmp_path, monkeypatch, code):
    def no_locks(fd, op):
        raise OSError(code, "no locks on this file system")

    monkeypatch.setattr(runfolder.fcntl, "flock", no_locks)
    target = tmp_path / "run"
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        with runfolder.building(target) as folder:
            (folder / "a.txt").write_text("x")
    assert (target / "a.txt").read_text() == "x"
    assert not (tmp_path / ".run.lock").exists()


def test_other_flock_errors_still_raise(tmp_path, monkeypatch):
    def broken(fd, op):
        raise OSError(errno.EIO, "i/o error")

    monkeypatch.setattr(runfolder.fcntl, "flock", broken)
    with pytest.raises(OSError):
        with runfolder.building(tmp_path / "run"):
            pass
    assert not (tmp_path / "run").exists()

"""An --overwrite whose publishing rename fails (a full disk, Ctrl-C between the two renames)
leaves the previous run folder in place: it was moved aside to ``.<name>.replaced`` and never
put back, so the target was gone and the last good run unloadable."""

import errno
import os

import pytest

from kernels import runfolder
from kernels.runfolder import building, read_manifest, write_manifest


def _run(target, weights: bytes, overwrite: bool = False) -> None:
    with building(target, overwrite=overwrite) as folder:
        (folder / "model.pt").write_bytes(weights)
        write_manifest(folder, "forecast", config={})


@pytest.mark.parametrize("failure", [OSError(errno.ENOSPC, "No space left"), KeyboardInterrupt()])
def test_a_failed_publish_keeps_the_previous_folder(tmp_path, monkeypatch, failure):
    target = tmp_path / "run"
    _run(target, b"old weights")
    before = read_manifest(target)["files"]
    real = os.replace

    def publish_fails(src, dst):
        if str(src).endswith(".run.partial"):  # the staging folder renamed onto the target
            raise failure
        return real(src, dst)

    monkeypatch.setattr(runfolder.os, "replace", publish_fails)
    with pytest.raises(type(failure)):
        _run(target, b"new weights", overwrite=True)
    monkeypatch.setattr(runfolder.os, "replace", real)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    assert read_manifest(target)["files"] == before
    assert (target / "model.pt").read_bytes() == b"old weights"
    _run(target, b"new weights", overwrite=True)  # a plain retry succeeds
    assert (target / "model.pt").read_bytes() == b"new weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]

"""A run folder's target named ``.`` or ``..`` (``--out . --overwrite`` from inside the folder to
replace): it cannot be renamed onto, so the whole run was trained and then lost to an
``OSError`` (EBUSY; the CLI's "Device or resource busy: ."), its staging folder and lock written
inside the target. It is refused before any work, naming the path."""

import pytest

from kernels import runfolder
from kernels.io import FileError


@pytest.mark.parametrize("name", [".", "..", ""])
def test_dot_targets_are_refused_before_the_block_runs(tmp_path, monkeypatch, name):
    inside = tmp_path / "out"
    inside.mkdir()
    (inside / "keep.txt").write_text("mine")
    monkeypatch.chdir(inside)
    ran = False
    with pytest.raises(FileError, match="not a folder name"):
        with runfolder.building(name, overwrite=True):
            ran = True
    assert not ran
    assert sorted(p.name for p in inside.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_target_ending_in_dot_dot_is_refused(tmp_path):
    with pytest.raises(FileError, match="not a folder name"):
        with runfolder.building(tmp_path / "a" / "..", overwrite=True):
            pass
    assert list(tmp_path.iterdir()) == []

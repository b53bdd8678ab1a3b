"""A writer killed with -9 between the two renames of an overwrite (the old run moved aside to
``.<name>.replaced``, the new one not yet in place): the next writer puts the old run back, so
the target is the old run, never a gap a rerun silently fills while the old run stays hidden."""

import pytest

from kernels import runfolder
from kernels.io import FileError
from kernels.runfolder import read_manifest, write_manifest


def _killed_between_renames(tmp_path):
    """The folder as such a writer leaves it: no target; the old run, staging and lock hidden."""
    target = tmp_path / "runs" / "tft"
    with runfolder.building(target) as folder:
        (folder / "w.txt").write_text("old")
        write_manifest(folder, "t", config={})
    (tmp_path / "runs" / ".tft.partial").mkdir()
    (tmp_path / "runs" / ".tft.partial" / "w.txt").write_text("new, half written")
    (tmp_path / "runs" / ".tft.lock").write_text("999999999")
    target.rename(tmp_path / "runs" / ".tft.replaced")
    return target


def test_a_rerun_without_overwrite_finds_the_old_run(tmp_path):
    target = _killed_between_renames(tmp_path)
    with pytest.raises(FileError, match="exists"):
        with runfolder.building(target) as folder:
            (folder / "w.txt").write_text("third")
    assert (target / "w.txt").read_text() == "old"
    read_manifest(target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["tft"]


def test_an_overwrite_replaces_it_and_leaves_nothing_hidden(tmp_path):
    target = _killed_between_renames(tmp_path)
    with runfolder.building(target, overwrite=True) as folder:
        (folder / "w.txt").write_text("third")
        write_manifest(folder, "t", config={})
    assert (target / "w.txt").read_text() == "third"
    read_manifest(target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["tft"]

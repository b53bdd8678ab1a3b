"""``--overwrite`` of a run folder reached through a symbolic link (``runs/current`` ->
``runs/v1``): the link is replaced by the new folder, the run it pointed to stays, and nothing
is left behind. The moved-aside link (``.current.replaced``) was left (rmtree refuses a link),
and the next overwrite failed with a traceback renaming the folder onto it, for good."""

from kernels import runfolder
from kernels.runfolder import read_manifest, write_manifest


def _write(target, text, overwrite=False):
    with runfolder.building(target, overwrite=overwrite) as folder:
        (folder / "w.txt").write_text(text)
        write_manifest(folder, "t", config={})


def test_overwriting_a_linked_run_twice_leaves_nothing_behind(tmp_path):
    _write(tmp_path / "v1", "v1")
    link = tmp_path / "current"
    link.symlink_to(tmp_path / "v1")
    _write(link, "second", overwrite=True)
    assert not link.is_symlink() and (link / "w.txt").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "v1"]
    _write(link, "third", overwrite=True)
    assert (link / "w.txt").read_text() == "third"
    read_manifest(link)
    assert (tmp_path / "v1" / "w.txt").read_text() == "v1"  # the linked run is not touched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "v1"]


def test_a_link_left_aside_by_a_killed_writer_does_not_block_the_next(tmp_path):
    """A dangling or live link at ``.<name>.replaced`` beside a published target."""
    _write(tmp_path / "v1", "v1")
    _write(tmp_path / "current", "published")
    (tmp_path / ".current.replaced").symlink_to(tmp_path / "v1")
    _write(tmp_path / "current", "next", overwrite=True)
    assert (tmp_path / "current" / "w.txt").read_text() == "next"
    assert (tmp_path / "v1" / "w.txt").read_text() == "v1"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "v1"]

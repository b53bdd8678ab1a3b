"""`inspect score` publishes an items table, a views table and a heatmap folder "together or
not at all (and earlier outputs as they were)". Each table was renamed into place on its own:
when a later rename failed (a full disk, Ctrl-C), the items table was the new run's while the
views table and heatmaps were the old run's, or the new items table stood alone."""

import errno
import os
from pathlib import Path

import pandas as pd
import pytest

from vision.tables import ScoreOutputs

REAL = os.replace


def _score(out: Path, tag: str, fail: str | None = None, monkeypatch=None) -> None:
    outputs = ScoreOutputs.plan(out)
    with outputs.publishing(overwrite=True) as (staging, write):
        (staging / "i1_v0.png").write_text(tag)
        items = pd.DataFrame({"item_id": ["i1"], "verdict": [tag]})
        views = pd.DataFrame({"item_id": ["i1"], "view": ["v0"], "verdict": [tag]})
        write(items, views)
        if fail is not None:

            def flaky(src, dst):
                if Path(dst).name == fail:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return REAL(src, dst)

            monkeypatch.setattr(os, "replace", flaky)


def _state(folder: Path) -> dict:
    files = {p.name for p in folder.iterdir() if not p.name.startswith(".")}
    state = {"files": files}
    if "scores.csv" in files:
        state["items"] = pd.read_csv(folder / "scores.csv")["verdict"].tolist()
    if "scores.views.csv" in files:
        state["views"] = pd.read_csv(folder / "scores.views.csv")["verdict"].tolist()
    return state


@pytest.mark.parametrize("fail", ["scores.views.csv", "scores_heatmaps"])
def test_a_failed_publish_leaves_the_earlier_tables(tmp_path, monkeypatch, fail):
    out = tmp_path / "scores.csv"
    _score(out, "pass")
    before = _state(tmp_path)
    with pytest.raises(OSError):
        _score(out, "reject", fail=fail, monkeypatch=monkeypatch)
    monkeypatch.undo()
    after = _state(tmp_path)
    assert after["items"] == before["items"] == ["pass"]
    assert after["views"] == before["views"] == ["pass"]
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".previous")]
    _score(out, "reject")  # a plain retry
    assert _state(tmp_path)["items"] == _state(tmp_path)["views"] == ["reject"]


def test_a_failed_first_publish_leaves_no_table(tmp_path, monkeypatch):
    out = tmp_path / "scores.csv"
    with pytest.raises(OSError):
        _score(out, "reject", fail="scores.views.csv", monkeypatch=monkeypatch)
    monkeypatch.undo()
    assert _state(tmp_path)["files"] == set()


def test_a_stop_after_the_heatmaps_are_published_keeps_the_new_outputs(tmp_path, monkeypatch):
    """Ctrl-C while the replaced heatmap folder is removed: everything new is in place already,
    and stays together (the tables are not put back under the new heatmaps)."""
    import shutil

    from kernels import runfolder

    out = tmp_path / "scores.csv"
    _score(out, "pass")
    real = shutil.rmtree

    def interrupted(path, *args, **kwargs):
        if str(path).endswith(".scores_heatmaps.replaced") and Path(path).exists():
            raise KeyboardInterrupt
        return real(path, *args, **kwargs)

    monkeypatch.setattr(runfolder.shutil, "rmtree", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _score(out, "reject")
    monkeypatch.undo()
    state = _state(tmp_path)
    assert state["items"] == state["views"] == ["reject"]
    assert (tmp_path / "scores_heatmaps" / "i1_v0.png").read_text() == "reject"

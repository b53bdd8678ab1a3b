"""Package versions as the repository finds them, a published version never replaced by a
second writer, and a manifest that says what the runtime does.
"""

from __future__ import annotations

import os
import sys
import threading

import numpy as np
import pytest

import kernels.runfolder as runfolder
from forecasting.grid import standardize_history
from kernels.io import FileError
from kernels.runfolder import building
from serving.cli import main
from serving.export import export_run
from serving.package import latest, read_package, versions
from serving.runtime import ForecastPackage

# A package version the repository would never find again is refused, not written.


@pytest.mark.parametrize(
    "version", ["02", "007", "\uff13"], ids=["leading-zero", "zeros", "fullwidth"]
)
def test_a_version_spelt_otherwise_than_the_repository_reads_it_is_refused(
    lstm_package, tmp_path, version
):
    """``versions`` lists only folders named by their number in decimal (``2``, not ``02``):
    a package written as ``02`` would be reported exported, yet never served, never
    ``latest`` and skipped by the next automatic version."""
    _, _, root = lstm_package
    run, repo = root / "runs" / "lstm", tmp_path / "repo"
    with pytest.raises(FileError, match="--version"):
        export_run(run, repo, version=version)
    assert not (repo / "lstm").exists()
    package = export_run(run, repo)
    assert package.name == "1" and versions(repo, "lstm") == [1] and latest(repo, "lstm") == package


def test_cli_export_refuses_a_zero_padded_version(lstm_package, tmp_path, capsys):
    _, _, root = lstm_package
    args = ["export", "--run", str(root / "runs" / "lstm"), "--repo", str(tmp_path / "repo")]
    assert main([*args, "--version", "02"]) == 2
    assert "--version '02'" in capsys.readouterr().err
    assert not (tmp_path / "repo" / "lstm" / "02").exists()


def test_cli_export_to_an_existing_version_names_the_next_one(lstm_package, tmp_path, capsys):
    """Versions are immutable and `export` has no --overwrite: the error must not suggest one."""
    _, _, root = lstm_package
    args = ["export", "--run", str(root / "runs" / "lstm"), "--repo", str(tmp_path / "repo")]
    assert main(args) == 0
    before = sorted(p.name for p in (tmp_path / "repo" / "lstm" / "1").iterdir())
    assert main([*args, "--version", "1"]) == 2
    err = capsys.readouterr().err
    assert "version 1 exists" in err and "next: 2" in err and "--overwrite" not in err
    assert sorted(p.name for p in (tmp_path / "repo" / "lstm" / "1").iterdir()) == before


# A folder another writer publishes while this one waits for the lock is never replaced.


def _publish_while_waiting(monkeypatch, target, name: str, text: str) -> None:
    """The next ``building`` publishes ``target`` (one file ``name`` holding ``text``) from
    another writer just before it takes the lock, after its own check that ``target`` is new."""
    real = runfolder._acquire

    def another_writer_finishes_first(lock, folder):
        monkeypatch.setattr(runfolder, "_acquire", real)
        with runfolder.building(target) as staged:
            (staged / name).write_text(text)
        return real(lock, folder)

    monkeypatch.setattr(runfolder, "_acquire", another_writer_finishes_first)


def test_a_target_published_between_the_check_and_the_lock_is_kept(tmp_path, monkeypatch):
    """Two exports of different runs both take the next version: the first publishes it just
    after the second checked that it did not exist. The second must be refused, not replace
    the first's package (without ``overwrite``) under the path the first reported."""
    target = tmp_path / "repo" / "champion" / "3"
    _publish_while_waiting(monkeypatch, target, "model.onnx", "first run")
    with pytest.raises(FileError, match="exists"):
        with runfolder.building(target) as staged:
            (staged / "model.onnx").write_text("second run")
    assert (target / "model.onnx").read_text() == "first run"
    assert sorted(p.name for p in target.parent.iterdir()) == ["3"]  # no staging, no lock


def test_overwrite_still_replaces_a_folder_published_meanwhile(tmp_path, monkeypatch):
    target = tmp_path / "run"
    _publish_while_waiting(monkeypatch, target, "a", "first")
    with runfolder.building(target, overwrite=True) as staged:
        (staged / "a").write_text("second")
    assert (target / "a").read_text() == "second"


# The manifest tells a caller how to feed the graph: what it says must be what the runtime does.


def test_the_manifest_describes_the_real_covariates_as_the_runtime_scales_them(
    lstm_package, small_network
):
    """The runtime z-scores a known real by each series' history alone (rows past the origin
    never move it) and static reals with the training table's stats; the manifest, which a
    caller of the OIP endpoint builds its tensors from, said "z-scored per series over its
    rows" and "across series", which moves every window's prices when a price plan is given."""
    _, package, _ = lstm_package
    text = read_package(package)["preprocessing"]["real_covariates"]
    assert "over its rows" not in text and "history" in text and "static_stats" in text

    runtime = ForecastPackage(package)
    frame = small_network.to_frame()
    future = frame["demand"].isna()
    frame.loc[future, "price"] = frame.loc[future, "price"] * 0.5  # a price cut ahead
    job = runtime.prepare(frame)
    grid = job.grid
    # What the manifest now says: the history's mean and std (forward-filled inside it).
    from forecasting.grid import ffill_time

    filled = ffill_time(grid.known_real, limit=grid.end)
    expected = standardize_history(filled.copy(), grid.end)
    length = runtime.pre["encoder_length"]
    positions = job.origins[:, None] + np.arange(-length, runtime.horizon)[None, :]
    inside = (positions >= 0) & (positions < filled.shape[1])
    want = expected[job.series[:, None], positions.clip(0, filled.shape[1] - 1)]
    want[~inside] = 0.0
    np.testing.assert_allclose(job.feeds["known_real"], want, rtol=1e-5, atol=1e-5)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
def test_a_second_writer_arriving_while_the_lock_is_created_is_refused(tmp_path, monkeypatch):
    target = tmp_path / "repo" / "lstm" / "1"
    reached, proceed = threading.Event(), threading.Event()  # first writer held / go on
    real_fdopen = os.fdopen

    def slow_fdopen(fd, *args, **kwargs):
        # The first writer is held just after its lock file exists, before anything else.
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".lock"):
            reached.set()
            proceed.wait(timeout=10)
        return real_fdopen(fd, *args, **kwargs)

    monkeypatch.setattr(os, "fdopen", slow_fdopen)
    outcome: dict[str, object] = {}

    def first() -> None:
        try:
            with building(target) as folder:
                (folder / "first.txt").write_text("1")
                reached.set()
                proceed.wait(timeout=10)
            outcome["first"] = "published"
        except Exception as exc:  # the type is the point
            outcome["first"] = exc

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert reached.wait(timeout=10)
        with pytest.raises(FileError, match="another stockcast process"):
            with building(target) as folder:
                (folder / "second.txt").write_text("2")
    finally:
        proceed.set()
        thread.join(timeout=30)
    assert outcome["first"] == "published"
    assert sorted(p.name for p in target.iterdir()) == ["first.txt"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["1"]  # no lock or staging left

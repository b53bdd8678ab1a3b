"""`inspect calibrate` rewrote the run's manifest with the sha256 of every file then in the run
folder, not the run's own: a scores table or heatmap folder written inside the run folder
(`inspect score --out RUN/scores.csv`) became part of the run, and scoring again (or removing
the table) made the run unloadable ("sha256 does not match the manifest; the file was changed
after the run was written") though its model had not changed."""

from __future__ import annotations

from kernels.runfolder import building, read_manifest, update_manifest, write_manifest


def test_files_written_into_a_run_after_it_was_published_are_not_adopted(tmp_path):
    run = tmp_path / "run"
    with building(run) as folder:
        (folder / "model.pt").write_bytes(b"weights")
        files = write_manifest(folder, "inspection", config={})["files"]
    (run / "scores.csv").write_text("item_id,verdict\ni1,pass\n")  # inspect score --out run/...
    (run / "scores_heatmaps").mkdir()
    (run / "scores_heatmaps" / "i1_v0.png").write_bytes(b"png")

    manifest = update_manifest(run, expected=files, thresholds={"reject": [0.5]})  # calibrate
    assert manifest["files"] == files
    assert read_manifest(run)["thresholds"] == {"reject": [0.5]}

    (run / "scores.csv").write_text("item_id,verdict\ni2,reject\n")  # scored again
    (run / "scores_heatmaps" / "i1_v0.png").unlink()  # or cleaned up
    assert read_manifest(run)["files"] == files  # the run still loads


def test_a_changed_run_file_is_still_refused(tmp_path):
    run = tmp_path / "run"
    with building(run) as folder:
        (folder / "model.pt").write_bytes(b"weights")
        files = write_manifest(folder, "inspection", config={})["files"]
    update_manifest(run, expected=files, thresholds={})
    (run / "model.pt").write_bytes(b"other weights")
    try:
        read_manifest(run)
    except ValueError as exc:
        assert "model.pt" in str(exc)
    else:
        raise AssertionError("a changed model file was read as the run's")

"""Score outputs: a table asked for inside the heatmap folder (published whole at the end of
scoring, so the table was removed after being reported written) is refused before any work;
rejected units are counted by position."""

from __future__ import annotations

import pandas as pd
import pytest

from kernels.io import FileError
from serving.cli import main
from vision.tables import ScoreOutputs, rejected_units


def _publish(out, heatmaps):
    outputs = ScoreOutputs.plan(out, heatmaps)
    with outputs.publishing() as (staging, write):
        (staging / "u1").mkdir()
        (staging / "u1" / "front.png").write_bytes(b"png")
        write(pd.DataFrame({"item_id": ["u1"]}), pd.DataFrame({"item_id": ["u1"]}))


@pytest.mark.parametrize("inside", ["hm", "hm/sub"])
def test_tables_inside_the_heatmap_folder_are_refused_not_lost(tmp_path, inside):
    out = tmp_path / inside / "scores.csv"
    with pytest.raises(FileError, match="inside the heatmap folder"):
        _publish(out, tmp_path / "hm")
    assert not (tmp_path / "hm").exists()


def test_tables_beside_the_heatmap_folder_are_written(tmp_path):
    _publish(tmp_path / "scores.csv", tmp_path / "hm")
    assert (tmp_path / "scores.csv").is_file() and (tmp_path / "scores.views.csv").is_file()
    assert (tmp_path / "hm" / "u1" / "front.png").is_file()


def test_the_command_refuses_it_before_loading_the_run(tmp_path, capsys):
    hm = tmp_path / "results"
    argv = ["inspect", "score", "--run", str(tmp_path / "no_run"), "--items", str(tmp_path)]
    argv += ["--out", str(hm / "scores.csv"), "--heatmap-dir", str(hm)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "inside the heatmap folder" in err and "\n" not in err.strip()
    assert not hm.exists()


def test_two_scored_tables_concatenated_are_counted_by_hand():
    morning = pd.DataFrame(
        {
            "item_id": ["a1", "a2", "a3"],
            "product_id": ["007", "007", "P2"],
            "location_id": ["01", "01", "01"],
            "verdict": ["reject", "pass", "review"],
        }
    )
    evening = pd.DataFrame(
        {
            "item_id": ["b1", "b2"],
            "product_id": ["P2", "P2"],
            "location_id": ["01", "FC2"],
            "verdict": ["reject", "reject"],
        }
    )
    both = pd.concat([morning, evening])
    counts = rejected_units(both).set_index(["item_id", "location_id"])
    columns = ["inspected_units", "rejected_units", "review_units", "passed_units"]
    assert counts.loc[("007", "01"), columns].tolist() == [2, 1, 0, 1]
    assert counts.loc[("P2", "01"), columns].tolist() == [2, 1, 1, 0]
    assert counts.loc[("P2", "FC2"), columns].tolist() == [1, 1, 0, 0]
    assert len(counts) == 3
    assert both.index.tolist() == [0, 1, 2, 0, 1]  # the caller's table is left as it was

"""`inspect score --no-heatmaps` took no lock on its --out: the heatmap folder's lock was the
only one, so two writers of one items table without heatmaps (or with different heatmap
folders) each renamed their own tables, and one model's items table could stand beside the
other's views table. The items table is locked as a run folder is, while it is written."""

from pathlib import Path

import pandas as pd
import pytest

from kernels.io import FileError
from vision.tables import ScoreOutputs


def _tables(tag: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    items = pd.DataFrame({"item_id": ["i1"], "verdict": [tag]})
    return items, pd.DataFrame({"item_id": ["i1"], "view": ["v0"], "verdict": [tag]})


@pytest.mark.parametrize("second", ["no_heatmaps", "other_heatmap_dir"])
def test_a_second_writer_of_one_items_table_is_refused(tmp_path: Path, second):
    out = tmp_path / "new" / "scores.csv"
    first = ScoreOutputs.plan(out, heatmaps=False)
    other = (
        ScoreOutputs.plan(out, heatmaps=False)
        if second == "no_heatmaps"
        else ScoreOutputs.plan(out, tmp_path / "h2")
    )
    with first.publishing() as (staging, write):
        assert staging is None
        with pytest.raises(FileError, match="another stockcast process"):
            with other.publishing(overwrite=True):
                pass
        write(*_tables("first"))
    assert pd.read_csv(out)["verdict"].tolist() == ["first"]
    assert pd.read_csv(tmp_path / "new" / "scores.views.csv")["verdict"].tolist() == ["first"]
    assert not list(tmp_path.glob("new/.*"))  # the lock file is gone with the writer
    with other.publishing(overwrite=True) as (_, write):  # free again
        write(*_tables("second"))
    assert pd.read_csv(out)["verdict"].tolist() == ["second"]


def test_a_failed_writer_leaves_no_folder_or_lock(tmp_path: Path):
    outputs = ScoreOutputs.plan(tmp_path / "a" / "b" / "scores.csv", heatmaps=False)
    with pytest.raises(RuntimeError):
        with outputs.publishing():
            assert (tmp_path / "a" / "b" / ".scores.csv.lock").is_file()
            raise RuntimeError("scoring failed")
    assert list(tmp_path.iterdir()) == []

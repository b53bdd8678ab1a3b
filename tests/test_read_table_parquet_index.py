"""A parquet file keeps the pandas index it was saved with; read_table gives it back as the
columns it was (named) or drops it (row numbers), as every reader expects of a table."""

import pandas as pd

from kernels.io import read_table
from vision.tables import rejected_units


def test_a_concatenated_scores_table_counts_every_unit(tmp_path):
    # two scoring runs put together: row labels 0, 1, 2, 0, 1 travel in the parquet file and
    # counting the verdicts failed ("cannot reindex on an axis with duplicate labels")
    first = pd.DataFrame(
        {"item_id": ["u1", "u2", "u3"], "product_id": ["0007", "0007", "0008"],
         "verdict": ["reject", "pass", "pass"]}
    )  # fmt: skip
    second = pd.DataFrame(
        {"item_id": ["u4", "u5"], "product_id": ["0008", "0009"], "verdict": ["reject", "review"]}
    )
    path = tmp_path / "scores.parquet"
    pd.concat([first, second]).to_parquet(path)
    counts = rejected_units(path).set_index("item_id")
    assert counts["inspected_units"].to_dict() == {"0007": 2, "0008": 2, "0009": 1}
    assert counts["rejected_units"].to_dict() == {"0007": 1, "0008": 1, "0009": 0}
    assert counts["review_units"].to_dict() == {"0007": 0, "0008": 0, "0009": 1}


def test_a_named_index_is_read_as_its_column(tmp_path):
    frame = pd.DataFrame({"date": ["2024-01-01", "2024-01-02"], "demand": [1.0, 2.0]})
    path = tmp_path / "panel.parquet"
    frame.set_index("date").to_parquet(path)
    read = read_table(path)
    assert list(read.columns) == ["date", "demand"]
    assert read["date"].tolist() == ["2024-01-01", "2024-01-02"]
    assert isinstance(read.index, pd.RangeIndex)

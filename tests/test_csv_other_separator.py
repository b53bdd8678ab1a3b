"""A table saved with semicolons (a decimal-comma locale's "CSV") or tabs is refused naming its
separator: read by commas its header was one column, and the plan said the inventory's
item_id, location_id and on_hand were missing while the file plainly has them."""

import pytest

from kernels.io import FileError, read_table


@pytest.mark.parametrize(("sep", "word"), [(";", "semicolons"), ("\t", "tabs")])
def test_other_separators_are_named(tmp_path, sep, word):
    path = tmp_path / "inventory.csv"
    rows = [["item_id", "location_id", "on_hand", "lead_time_mean"], ["A", "FC1", "5", "7,5"]]
    path.write_text("\r\n".join(sep.join(r) for r in rows) + "\r\n", encoding="utf-8-sig")
    with pytest.raises(FileError, match=f"separated by {word}"):
        read_table(path, text=("item_id", "location_id", "segment"))
    with pytest.raises(FileError, match=f"separated by {word}"):
        read_table(path, dtype=str, keep_default_na=False)  # as the inspection tables


def test_one_column_tables_and_given_separators_still_read(tmp_path):
    path = tmp_path / "items.csv"
    path.write_text("item_id\nA\nB\n")
    assert read_table(path)["item_id"].tolist() == ["A", "B"]
    path = tmp_path / "inventory.csv"
    path.write_text("item_id;on_hand\nA;5\n")
    assert read_table(path, sep=";").to_dict("list") == {"item_id": ["A"], "on_hand": [5]}

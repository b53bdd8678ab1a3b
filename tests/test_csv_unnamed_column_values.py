"""A header ending in a delimiter (a spreadsheet's empty last column, ``Unnamed: N`` to pandas)
gives every row one more field to fill: an unquoted decimal comma or thousands separator moved
the row's later fields one to the right and the last into the unnamed column, which no reader
reads. A demand of 1,5 was read as 1 and an on_hand of 1,234 as 1 with 234 days of lead time,
without a word; now such a file is refused naming the column. Empty unnamed columns (several
of them included) and the row numbers ``to_csv`` writes in the first column still read."""

import pytest

from forecasting.io import load_panel
from forecasting.spec import PanelSpec
from kernels.io import FileError, read_table

KEYS = ("item_id", "location_id", "segment")


def test_a_decimal_comma_under_a_trailing_delimiter_header_is_refused(tmp_path):
    path = tmp_path / "sales.csv"
    rows = [f"A,FC1,2025-04-{d:02d},{d},5" for d in range(1, 15)]  # d,5 meaning d.5
    path.write_text("item_id,location_id,date,demand,\n" + "\n".join(rows) + "\n")
    with pytest.raises(FileError, match=r"column 5 has no name in the header but holds values"):
        load_panel(path, PanelSpec())


def test_a_thousands_separator_in_one_row_is_refused(tmp_path):
    path = tmp_path / "inventory.csv"
    path.write_text(
        "item_id,location_id,on_hand,lead_time_mean,lead_time_std,\n"
        "A,FC1,1,234,7,0\n"  # on_hand 1,234: read as on_hand 1, lead time 234 days
        "B,FC1,40,7,0,\n"
    )
    with pytest.raises(FileError, match=r"1,5 or 1,234.*line 2|line 2.*1,5 or 1,234"):
        read_table(path, text=KEYS)


def test_empty_unnamed_columns_and_row_numbers_still_read(tmp_path):
    path = tmp_path / "inventory.csv"
    path.write_text("item_id,location_id,on_hand,,\nA,FC1,5,,\nB,FC1,40,,\n")
    inv = read_table(path, text=KEYS)
    assert inv[["item_id", "location_id", "on_hand"]].to_dict("list") == {
        "item_id": ["A", "B"],
        "location_id": ["FC1", "FC1"],
        "on_hand": [5, 40],
    }
    path.write_text(",item_id,location_id,on_hand\n0,A,FC1,5\n1,B,FC1,40\n")  # df.to_csv()
    assert read_table(path, text=KEYS)["on_hand"].tolist() == [5, 40]


def test_a_named_column_twice_is_still_refused(tmp_path):
    path = tmp_path / "inventory.csv"
    path.write_text("item_id,location_id,on_hand,on_hand\nA,FC1,5,6\n")
    with pytest.raises(FileError, match="'on_hand' appears more than once"):
        read_table(path, text=KEYS)

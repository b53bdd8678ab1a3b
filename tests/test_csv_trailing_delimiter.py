"""A CSV whose rows end with a delimiter (spreadsheet and ERP exports write ``A,FC1,10,``) is
read as the person who exported it means it: pandas took the first row's extra field as the
sign of a row-name column, and every column read its right neighbour's values (item_id the
location, location_id the date, date the demand). A row with a filled extra field (an unquoted
``1,234``) is refused by name rather than read shifted or cut."""

import pandas as pd
import pytest

from forecasting.io import load_panel
from forecasting.spec import PanelSpec
from forecasting.validate import validate_panel
from kernels import Policy, plan
from kernels.io import FileError, read_table

KEYS = ("item_id", "location_id", "segment")


def test_panel_rows_ending_with_a_delimiter(tmp_path):
    path = tmp_path / "sales.csv"
    rows = [f"A,FC1,2025-04-{d:02d},{d}," for d in range(1, 15)]
    path.write_text("item_id,location_id,date,demand\r\n" + "\r\n".join(rows) + "\r\n")
    clean, _ = validate_panel(load_panel(path, PanelSpec()), PanelSpec())
    assert clean["item_id"].tolist() == ["A"] * 14
    assert clean["location_id"].tolist() == ["FC1"] * 14
    assert clean["date"].tolist() == list(pd.date_range("2025-04-01", periods=14))
    assert clean["demand"].tolist() == [float(d) for d in range(1, 15)]


def test_only_the_first_row_ending_with_a_delimiter(tmp_path):
    path = tmp_path / "inventory.csv"
    path.write_text(
        "item_id,location_id,on_hand,lead_time_mean,lead_time_std\n"
        "0007,FC1,5,7,0,\n"  # pandas decides on the first row alone
        "B,FC2,40,7,0\n"
    )
    inv = read_table(path, text=KEYS)
    assert inv.to_dict("list") == {
        "item_id": ["0007", "B"],
        "location_id": ["FC1", "FC2"],
        "on_hand": [5, 40],
        "lead_time_mean": [7, 7],
        "lead_time_std": [0, 0],
    }
    forecast = pd.DataFrame(
        {"item_id": ["0007", "B"], "location_id": ["FC1", "FC2"], "demand_mean": 10.0,
         "demand_std": 0.0}
    )  # fmt: skip
    result = plan(forecast, inv, Policy(service_level=0.9))
    # no spread: the reorder point is 7 days of 10 units; each position is its own on_hand
    assert result["reorder_point"].tolist() == pytest.approx([70.0, 70.0])
    assert result["inventory_position"].tolist() == [5.0, 40.0]


def test_a_filled_extra_field_is_refused(tmp_path):
    path = tmp_path / "sales.csv"
    rows = [f"A,FC1,2025-04-{d:02d},1,{d:03d}" for d in range(1, 15)]  # 1,001 meaning 1001
    path.write_text("item_id,location_id,date,demand\n" + "\n".join(rows) + "\n")
    with pytest.raises(FileError, match="more fields than the header"):
        read_table(path, text=KEYS)


def test_two_extra_fields(tmp_path):
    path = tmp_path / "inventory.csv"
    path.write_text("item_id,location_id,on_hand\nA,FC1,5,,\nB,FC2,7,,\n")
    assert read_table(path, text=KEYS).to_dict("list") == {
        "item_id": ["A", "B"],
        "location_id": ["FC1", "FC2"],
        "on_hand": [5, 7],
    }
    path.write_text("item_id,location_id,on_hand\nA,FC1,5,9,\nB,FC2,7,9,\n")
    with pytest.raises(FileError, match="more fields than the header"):
        read_table(path, text=KEYS)


def test_rows_ending_with_a_delimiter_read_as_text(tmp_path):
    path = tmp_path / "labels.csv"  # as the inspection tables read theirs: every cell text
    path.write_text("item_id,ok,scratch\nU1,1,0,\nU2,0,1,\n")
    frame = read_table(path, dtype=str, keep_default_na=False)
    assert frame.to_dict("list") == {
        "item_id": ["U1", "U2"],
        "ok": ["1", "0"],
        "scratch": ["0", "1"],
    }

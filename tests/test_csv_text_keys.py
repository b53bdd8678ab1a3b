"""A CSV's key and categorical text "NA", "None", "null" is that text (North America, a
promotion named None), as the parquet file of the same table and the JSON rows hold it; only
an empty cell is missing."""

import pandas as pd
from pandas.testing import assert_frame_equal

from forecasting import PanelSpec
from forecasting.io import load_panel
from forecasting.validate import validate_panel
from kernels.io import read_table
from serving.cli import main

SPEC = PanelSpec(static_categoricals=("region",), known_categoricals=("promo",))


def _table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["s1"] * 3 + ["null"] * 3,
            "location_id": ["NA"] * 3 + ["EU"] * 3,
            "date": ["2024-01-01", "2024-01-02", "2024-01-03"] * 2,
            "demand": [1.0, 2.0, None, 4.0, 5.0, 6.0],
            "region": ["NA"] * 3 + [None] * 3,
            "promo": ["None", "BOGO", None, "None", "n/a", "BOGO"],
        }
    )


def test_csv_reads_the_text_the_parquet_file_holds(tmp_path):
    table = _table()
    table.to_csv(tmp_path / "sales.csv", index=False)  # None is written as an empty cell
    table.to_parquet(tmp_path / "sales.parquet", index=False)
    from_parquet = validate_panel(load_panel(tmp_path / "sales.parquet", SPEC), SPEC)[0]
    from_csv = validate_panel(load_panel(tmp_path / "sales.csv", SPEC), SPEC)[0]
    assert from_parquet["region"].tolist().count("NA") == 3
    assert_frame_equal(from_csv, from_parquet)
    # demand keeps pandas' missing words: an "NA" demand is a future row
    (tmp_path / "na.csv").write_text(
        "item_id,location_id,date,demand\nNA,NA,2024-01-01,1\nNA,NA,2024-01-02,NA\n"
    )
    frame = read_table(tmp_path / "na.csv", text=("item_id", "location_id"))
    assert frame["item_id"].tolist() == ["NA", "NA"]
    assert frame["location_id"].tolist() == ["NA", "NA"]
    assert frame["demand"].isna().tolist() == [False, True]


def test_plan_inputs_keep_na_keys(tmp_path):
    (tmp_path / "inv.csv").write_text("item_id,location_id,on_hand\nNA,FC1,5\nsku2,,3\n")
    inventory = read_table(tmp_path / "inv.csv", text=("item_id", "location_id"))
    assert inventory["item_id"].tolist() == ["NA", "sku2"]
    assert inventory["location_id"].isna().tolist() == [False, True]


def test_segment_codes_with_leading_zeros_get_their_level(tmp_path):
    (tmp_path / "fc.csv").write_text(
        "item_id,location_id,demand_mean,demand_std\ns1,FC1,10,3\ns2,FC1,10,3\n"
    )
    (tmp_path / "inv.csv").write_text(
        "item_id,location_id,on_hand,lead_time_mean,segment\ns1,FC1,0,4,01\ns2,FC1,0,4,02\n"
    )
    out = tmp_path / "plan.csv"
    code = main(
        [
            "plan",
            "--forecast", str(tmp_path / "fc.csv"),
            "--inventory", str(tmp_path / "inv.csv"),
            "--service-level", "0.5",
            "--segment-levels", "01=0.99,02=0.9",
            "--out", str(out),
        ]
    )  # fmt: skip
    assert code == 0
    plan = pd.read_csv(out, dtype={"item_id": str}).set_index("item_id")
    assert plan.loc["s1", "service_level"] == 0.99
    assert plan.loc["s2", "service_level"] == 0.9

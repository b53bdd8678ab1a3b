"""`forecast monitor` reads the segment columns of a CSV actuals table as a backtest of the same
table names them: ``01`` stays ``01`` and ``NA`` (North America) stays a level, so each segment
meets its reference row. Read as numbers and missing values, ``01`` became ``1`` and ``NA`` the
missing level, no reference row matched, and a department whose WAPE doubled was not flagged.
"""

import json

import numpy as np
import pandas as pd

from serving.cli import main

MAPPING = [
    "--item-col", "sku", "--location-col", "fc", "--date-col", "day", "--target-col", "units"
]  # fmt: skip
ITEMS = [("a", "01", "NA"), ("b", "01", "EU"), ("c", "02", "NA"), ("d", "02", "EU")]


def _write_tables(tmp_path):
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=42)
    panel = pd.DataFrame(
        [
            {"sku": item, "fc": "F1", "day": d.strftime("%Y-%m-%d"),
             "units": float(rng.poisson(10)), "dept": dept, "region": region}
            for item, dept, region in ITEMS
            for d in dates
        ]
    )  # fmt: skip
    panel.to_csv(tmp_path / "panel.csv", index=False)
    new = pd.date_range(dates[-1] + pd.Timedelta(days=1), periods=7)
    forecasts, actuals = [], []
    for item, dept, region in ITEMS:
        for step, d in enumerate(new, start=1):
            day = d.strftime("%Y-%m-%d")
            forecasts.append({"item_id": item, "location_id": "F1", "date": day, "step": step,
                              "q0.5": 10.0})  # fmt: skip
            # Department 01's demand doubled: its WAPE is 0.5, far worse than its backtest's.
            actuals.append({"sku": item, "fc": "F1", "day": day, "dept": dept, "region": region,
                            "units": 20.0 if dept == "01" else 10.0})  # fmt: skip
    pd.DataFrame(forecasts).to_csv(tmp_path / "forecasts.csv", index=False)
    pd.DataFrame(actuals).to_csv(tmp_path / "actuals.csv", index=False)
    pd.DataFrame(actuals).to_parquet(tmp_path / "actuals.parquet", index=False)


def _monitor(tmp_path, actuals: str, *extra: str) -> dict:
    out = tmp_path / f"monitor_{actuals}_{len(extra)}"
    code = main(["forecast", "monitor", "--forecasts", str(tmp_path / "forecasts.csv"),
                 "--actuals", str(tmp_path / actuals), *MAPPING, *extra,
                 "--out", str(out)])  # fmt: skip
    assert code == 0
    checks = json.loads((out / "monitor.json").read_text())["checks"]
    return {(c["segment_type"], c["segment"]): c for c in checks}


def test_csv_segments_meet_the_backtest_reference(tmp_path):
    _write_tables(tmp_path)
    code = main(["forecast", "backtest", "--data", str(tmp_path / "panel.csv"),
                 "--models", "seasonal_naive", "--horizon", "7", "--origins", "2", *MAPPING,
                 "--static-cats", "dept,region", "--plot-series", "0",
                 "--out", str(tmp_path / "bt")])  # fmt: skip
    assert code == 0
    reference = ["--reference", str(tmp_path / "bt" / "metrics.json")]
    metrics = json.loads((tmp_path / "bt" / "metrics.json").read_text())["metrics"]
    named = {(m["segment_type"], m["segment"]) for m in metrics}
    assert {("dept", "01"), ("region", "NA")} <= named  # what the backtest calls them
    by_csv = _monitor(tmp_path, "actuals.csv", *reference, "--segments", "dept,region")
    by_parquet = _monitor(tmp_path, "actuals.parquet", *reference, "--segments", "dept,region")
    assert (
        set(by_csv)
        == set(by_parquet)
        == {
            ("all", "all"),
            ("dept", "01"),
            ("dept", "02"),
            ("region", "NA"),
            ("region", "EU"),
        }
    )
    for key, check in by_csv.items():
        assert check["reference_wape"] is not None, key  # every segment met its reference
        assert check == by_parquet[key]
    assert by_csv[("dept", "01")]["flagged"]  # the doubled department is flagged
    assert not by_csv[("dept", "02")]["flagged"]


def test_csv_text_segments_found_without_segments_flag(tmp_path):
    _write_tables(tmp_path)
    by_csv = _monitor(tmp_path, "actuals.csv")
    by_parquet = _monitor(tmp_path, "actuals.parquet")
    # "NA" is the level North America, as in the parquet copy, not the missing level.
    assert ("region", "NA") in by_csv and ("region", "<NA>") not in by_csv
    assert {k: c["wape"] for k, c in by_csv.items() if k[0] == "region"} == {
        k: c["wape"] for k, c in by_parquet.items() if k[0] == "region"
    }


def test_a_segment_named_by_a_mapped_key_is_scored(tmp_path):
    """`--location-col fc --segments fc`: accuracy per FC, under the user's name for it (the
    actuals' columns were renamed first, and the segment was 'not found')."""
    _write_tables(tmp_path)
    for actuals in ("actuals.csv", "actuals.parquet"):
        checks = _monitor(tmp_path, actuals, "--segments", "fc,dept")
        assert {("all", "all"), ("fc", "F1"), ("dept", "01"), ("dept", "02")} == set(checks)
        assert checks[("fc", "F1")]["wape"] == checks[("all", "all")]["wape"]

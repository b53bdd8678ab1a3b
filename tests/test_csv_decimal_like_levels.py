"""A CSV categorical whose codes look like decimals keeps its levels apart, as parquet does:
aisles ``1.1`` and ``1.10`` are two levels, not the one number 1.1 (their series shared one
embedding and peer level, and a backtest reported them as one segment). A column of whole
numbers written as floats (``1.0``, an integer column with a blank cell) still reads ``1``."""

import pandas as pd

from forecasting.io import map_columns, read_panel
from forecasting.spec import PanelSpec
from forecasting.validate import validate_panel


def _levels(path, spec):
    clean, _ = validate_panel(map_columns(read_panel(path, spec), spec), spec, categories=True)
    return {c: sorted(map(str, clean[c].dropna().unique())) for c in spec.static_categoricals}


def test_decimal_looking_levels_stay_apart_in_csv_as_in_parquet(tmp_path):
    dates = pd.date_range("2024-01-01", periods=30).strftime("%Y-%m-%d")
    aisles = {"a": "1.1", "b": "1.10", "c": "1.2", "d": "2.50"}
    shelves = {"a": "1.0", "b": "2.0", "c": "", "d": "3.0"}  # whole floats and a blank
    panel = pd.DataFrame(
        [
            {"item_id": i, "location_id": "F1", "date": d, "demand": 1.0, "aisle": aisle,
             "shelf": shelves[i]}
            for i, aisle in aisles.items()
            for d in dates
        ]
    )  # fmt: skip
    panel.to_csv(tmp_path / "panel.csv", index=False)
    panel.to_parquet(tmp_path / "panel.parquet", index=False)
    spec = PanelSpec(static_categoricals=("aisle",))
    assert _levels(tmp_path / "panel.csv", spec) == _levels(tmp_path / "panel.parquet", spec)
    assert _levels(tmp_path / "panel.csv", spec)["aisle"] == ["1.1", "1.10", "1.2", "2.50"]
    shelf = PanelSpec(static_categoricals=("shelf",))
    assert _levels(tmp_path / "panel.csv", shelf)["shelf"] == ["1", "2", "3", "<NA>"]

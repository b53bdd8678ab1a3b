"""A CSV categorical whose codes look like decimals keeps its levels apart, as parquet does:
aisles ``1.1`` and ``1.10`` are two levels, not the one number 1.1 (their series shared one
embedding and peer level, and a backtest reported them as one segment). A column of whole
numbers written as floats (``1.0``, an integer column with a blank cell) still reads ``1``.

A zero-padded code beside a decimal one (``007`` beside ``7.5``) is text too: the column was
read as numbers because one value had a decimal point, so ``007`` became the level ``7.0``,
which neither a parquet of the same table nor a prediction CSV without the ``7.5`` item has
(both items then forecast with the unknown embedding)."""

import pandas as pd

from forecasting.io import map_columns, read_levels, read_panel
from forecasting.spec import PanelSpec
from forecasting.validate import validate_panel


def _levels(path, spec):
    clean, _ = validate_panel(map_columns(read_panel(path, spec), spec), spec, categories=True)
    return {c: sorted(map(str, clean[c].dropna().unique())) for c in spec.static_categoricals}


def _write(tmp_path, column: str, codes: dict[str, str], shelves: dict[str, str]):
    """A 30-day panel, one item per code, as panel.csv and panel.parquet."""
    dates = pd.date_range("2024-01-01", periods=30).strftime("%Y-%m-%d")
    panel = pd.DataFrame(
        [
            {"item_id": i, "location_id": "F1", "date": d, "demand": 1.0, column: code,
             "shelf": shelves[i]}
            for i, code in codes.items()
            for d in dates
        ]
    )  # fmt: skip
    panel.to_csv(tmp_path / "panel.csv", index=False)
    panel.to_parquet(tmp_path / "panel.parquet", index=False)
    return panel


def test_decimal_looking_levels_stay_apart_in_csv_as_in_parquet(tmp_path):
    aisles = {"a": "1.1", "b": "1.10", "c": "1.2", "d": "2.50"}
    shelves = {"a": "1.0", "b": "2.0", "c": "", "d": "3.0"}  # whole floats and a blank
    _write(tmp_path, "aisle", aisles, shelves)
    spec = PanelSpec(static_categoricals=("aisle",))
    assert _levels(tmp_path / "panel.csv", spec) == _levels(tmp_path / "panel.parquet", spec)
    assert _levels(tmp_path / "panel.csv", spec)["aisle"] == ["1.1", "1.10", "1.2", "2.50"]
    shelf = PanelSpec(static_categoricals=("shelf",))
    assert _levels(tmp_path / "panel.csv", shelf)["shelf"] == ["1", "2", "3", "<NA>"]


def test_zero_padded_codes_keep_their_text_beside_a_decimal(tmp_path):
    codes = {"a": "007", "b": "7.5", "c": "012"}
    panel = _write(tmp_path, "cat", codes, {"a": "1.0", "b": "2.0", "c": ""})
    panel[panel["item_id"] != "b"].to_csv(tmp_path / "later.csv", index=False)
    spec = PanelSpec(static_categoricals=("cat",))
    assert _levels(tmp_path / "panel.csv", spec) == {"cat": ["007", "012", "7.5"]}
    assert _levels(tmp_path / "panel.parquet", spec) == {"cat": ["007", "012", "7.5"]}
    assert _levels(tmp_path / "later.csv", spec) == {"cat": ["007", "012"]}
    # The monitor's actuals read their segments by the same rule.
    actuals = read_levels(tmp_path / "panel.csv", ("item_id", "location_id"), ("cat",))
    assert sorted(actuals["cat"].unique()) == ["007", "012", "7.5"]
    shelf = PanelSpec(static_categoricals=("shelf",))
    assert _levels(tmp_path / "panel.csv", shelf)["shelf"] == ["1", "2", "<NA>"]

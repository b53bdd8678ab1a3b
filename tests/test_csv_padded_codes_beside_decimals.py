"""A CSV categorical mixing a zero-padded code with a decimal one (``007`` beside ``7.5``).

The README's rule: in a CSV the declared categoricals are the text the file holds (``007`` is
not 7), as in parquet. The column was read as numbers because one value had a decimal point, so
``007`` and ``012`` became the levels ``7.0`` and ``12.0``: a parquet of the same table has
``007`` and ``012``, and a prediction CSV without the ``7.5`` item reads ``007`` again, which
the CSV-trained vocabulary did not know (both items forecast with the unknown embedding)."""

import pandas as pd

from forecasting.io import map_columns, read_levels, read_panel
from forecasting.spec import PanelSpec
from forecasting.validate import validate_panel


def _levels(path, spec):
    clean, _ = validate_panel(map_columns(read_panel(path, spec), spec), spec, categories=True)
    return {c: sorted(map(str, clean[c].dropna().unique())) for c in spec.static_categoricals}


def test_zero_padded_codes_keep_their_text_beside_a_decimal(tmp_path):
    dates = pd.date_range("2024-01-01", periods=30).strftime("%Y-%m-%d")
    codes = {"a": "007", "b": "7.5", "c": "012"}
    shelves = {"a": "1.0", "b": "2.0", "c": ""}  # whole floats and a blank still read 1, 2
    panel = pd.DataFrame(
        [
            {"item_id": i, "location_id": "F1", "date": d, "demand": 1.0, "cat": code,
             "shelf": shelves[i]}
            for i, code in codes.items()
            for d in dates
        ]
    )  # fmt: skip
    panel.to_csv(tmp_path / "panel.csv", index=False)
    panel.to_parquet(tmp_path / "panel.parquet", index=False)
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

"""Keys and levels in a column of mixed objects (JSON rows: ``1.0`` beside ``1`` or ``"1"``)
read as one text whatever the row order: pandas keeps whichever of ``1`` and ``1.0`` comes
first, so ``1.0`` first made the key ``"1.0"`` and split one SKU into two series."""

from __future__ import annotations

import pandas as pd
import pytest

from forecasting import PanelSpec
from forecasting.validate import validate_panel

SPEC = PanelSpec(freq="D", known_categoricals=("promo",))


@pytest.mark.parametrize("items", [[1, 1.0, "1"], [1.0, 1, "1"], [1.0, "1", 1], ["1", 1.0, 1.0]])
def test_whole_float_key_is_its_integer_in_any_order(items):
    column = pd.Series(items, dtype=object)
    frame = pd.DataFrame(
        {
            "item_id": column,
            "location_id": "FC1",
            "date": pd.date_range("2024-01-01", periods=3, freq="D"),
            "demand": [1.0, 2.0, 3.0],
            "promo": column,
        }
    )
    clean, report = validate_panel(frame, SPEC)
    assert report.n_series == 1
    assert clean["item_id"].tolist() == ["1", "1", "1"]
    assert clean["demand"].tolist() == [1.0, 2.0, 3.0]
    assert clean["promo"].tolist() == ["1", "1", "1"]


def test_fraction_among_objects_keeps_the_float_spelling():
    # As in a float column holding a fraction, the floats keep their spelling (1.0, 1.5).
    frame = pd.DataFrame(
        {
            "item_id": pd.Series([1.0, 1.5, "a"], dtype=object),
            "location_id": "FC1",
            "date": pd.Timestamp("2024-01-01"),
            "demand": 1.0,
            "promo": "x",
        }
    )
    clean, _ = validate_panel(frame, PanelSpec(freq="D"))
    assert sorted(clean["item_id"]) == ["1.0", "1.5", "a"]


def test_plan_and_inspection_keys_read_mixed_objects_the_same_way():
    # kernels.io.key_text, which plan(), allocate() and the rejected counts key tables by,
    # reads a whole float among objects as its integer too: [1.0, 1, "1"] is one key "1"
    # (it was "1.0" for the first two and "1" for the third: two keys, one with no forecast).
    from kernels.io import key_text

    keys = key_text(pd.Series([1.0, 1, "1", None, "0007"], dtype=object))
    assert keys.tolist() == ["1", "1", "1", None, "0007"]
    assert key_text(pd.Series([7.0, None, 12.0])).tolist() == ["7", None, "12"]

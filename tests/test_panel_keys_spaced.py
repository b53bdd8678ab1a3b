"""Key values that are another's but for spaces around them (a spreadsheet's stray ``"A "``
beside ``"A"``) are refused naming the column: they were two series, each with part of the
item's history, without a word (rows "A " before a migration and "A" after trained and
forecast as two short series)."""

import pandas as pd
import pytest

from forecasting.spec import PanelSpec
from forecasting.validate import PanelError, validate_panel


def _panel(items):
    dates = pd.date_range("2024-03-01", periods=len(items))
    return pd.DataFrame(
        {"item_id": items, "location_id": "FC1", "date": dates, "demand": 1.0 * len(items)}
    )


def test_an_item_spelled_with_a_space_is_refused():
    frame = _panel(["A "] * 14 + ["A"] * 14)
    with pytest.raises(PanelError, match=r"item_id: values that differ only by spaces.*'A '"):
        validate_panel(frame, PanelSpec())


def test_a_location_with_a_non_breaking_space_is_refused():
    frame = _panel(["A"] * 28)
    frame.loc[14:, "location_id"] = "FC1\u00a0"
    with pytest.raises(PanelError, match=r"location_id: values that differ only by spaces"):
        validate_panel(frame, PanelSpec())


def test_keys_spelled_one_way_still_read():
    frame = _panel(["A "] * 14)
    clean, _ = validate_panel(frame, PanelSpec())
    assert clean["item_id"].tolist() == ["A "] * 14

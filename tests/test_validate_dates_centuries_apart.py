"""A table whose dates lie more than 292 years apart (a typo for the year: 1723 for 2023) was
an IndexError inside validation (the day offsets, in nanoseconds, overflowed int64): a bare
traceback on the command line and a 500 from the service. It is a PanelError naming the dates."""

import numpy as np
import pandas as pd
import pytest

from forecasting.spec import PanelSpec
from forecasting.validate import PanelError, validate_panel


def _panel(first_year: int) -> pd.DataFrame:
    days = pd.date_range("2023-01-01", periods=30)
    frame = pd.DataFrame(
        {"item_id": "A", "location_id": "FC1", "date": days, "demand": np.arange(30.0)}
    )
    typo = pd.DataFrame(
        {"item_id": ["B"], "location_id": ["FC1"], "date": [pd.Timestamp(f"{first_year}-05-01")],
         "demand": [1.0]}
    )  # fmt: skip
    return pd.concat([frame, typo], ignore_index=True)


@pytest.mark.parametrize("year", [1723, 1680])
def test_dates_centuries_apart_are_refused_by_name(year):
    with pytest.raises(PanelError, match="dates span more than") as caught:
        validate_panel(_panel(year), PanelSpec(freq="D"))
    assert f"{year}-05-01" in str(caught.value)


def test_a_table_spanning_two_centuries_is_still_read():
    clean, _ = validate_panel(_panel(1850), PanelSpec(freq="D"))
    assert clean["date"].min() == pd.Timestamp("1850-05-01")
    assert len(clean) == 31

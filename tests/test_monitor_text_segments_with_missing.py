"""The monitor's segments, when none are named, are the text columns, also one whose cells are
objects with some missing: pandas 2.x (the newest that Python 3.10 installs; pandas 3 reads them
as ``str``) reads a CSV text column with an empty or ``NA`` cell so, and the region was left
out of the checks without a word."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.monitor import text_columns


def test_object_text_with_missing_cells_is_a_segment():
    frame = pd.DataFrame(
        {
            "item_id": ["a", "b", "c"],
            "region": pd.Series([np.nan, "EU", "EU"], dtype=object),  # pandas 2's read of NA
            "dept": pd.Series(["01", "02", "01"], dtype="string"),
            "units": [1.0, 2.0, 3.0],
            "nothing": pd.Series([None, None, None], dtype=object),
            "mixed": pd.Series([1, "x", None], dtype=object),
        }
    )
    assert text_columns(frame, ["item_id"]) == ["region", "dept"]

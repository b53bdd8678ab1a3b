"""monitor() keys actuals by the text forecasts key series by: an actuals table whose ids are
whole floats (a parquet column of doubles, the table the forecaster trained on, whose item 7.0
it keys as "7") matched no forecast row ("no forecast row matches an actual")."""

import numpy as np
import pandas as pd

from forecasting.monitor import monitor


def _tables():
    dates = pd.date_range("2024-01-01", periods=7)
    forecasts = pd.DataFrame({"item_id": ["7"] * 7 + ["8"] * 7, "location_id": "1",
                              "date": list(dates) * 2, "step": list(range(1, 8)) * 2,
                              "q0.1": 1.0, "q0.5": 5.0, "q0.9": 9.0})  # fmt: skip
    actuals = pd.DataFrame({"item_id": ["7"] * 7 + ["8"] * 7, "location_id": "1",
                            "date": list(dates) * 2, "demand": [4.0] * 7 + [6.0] * 7})  # fmt: skip
    return forecasts, actuals


def test_whole_float_ids_match_the_forecasts_text_ids():
    forecasts, actuals = _tables()
    expected = monitor(forecasts, actuals)
    floats = actuals.astype({"item_id": np.float64, "location_id": np.float64})
    got = monitor(forecasts, floats)
    assert got.notes == expected.notes == []
    pd.testing.assert_frame_equal(got.table, expected.table)
    assert got.table["wape"].iloc[0] == 14.0 / 70.0  # |5-4| * 7 + |5-6| * 7 over 70 units


def test_integer_ids_still_match():
    forecasts, actuals = _tables()
    ints = actuals.astype({"item_id": np.int64, "location_id": np.int64})
    pd.testing.assert_frame_equal(monitor(forecasts, ints).table, monitor(forecasts, actuals).table)

"""Monitor: two columns naming one quantile level (q0.5 and q0.50) are refused: the later one was
scored without a word (a stale median of 20 against demand 10 read as WAPE 1.0, not 0.0), and
columns that only start with q (quantity, q_total, q0.5_old) are no quantiles."""

import numpy as np
import pandas as pd
import pytest

from forecasting.monitor import monitor
from forecasting.validate import PanelError


def _tables():
    dates = pd.date_range("2024-01-01", periods=14, freq="D")
    actuals = pd.DataFrame({"item_id": "a", "location_id": "x", "date": dates, "demand": 10.0})
    forecasts = pd.DataFrame(
        {
            "item_id": "a",
            "location_id": "x",
            "date": dates,
            "step": np.tile(np.arange(1, 8), 2),
            "q0.05": 5.0,
            "q0.5": 10.0,
            "q0.95": 15.0,
        }
    )
    return forecasts, actuals


@pytest.mark.parametrize(("column", "value"), [("q0.50", 20.0), ("q0.050", 11.0)])
def test_two_spellings_of_one_level_refused(column, value):
    forecasts, actuals = _tables()
    forecasts[column] = value
    with pytest.raises(PanelError, match="reads as quantile level"):
        monitor(forecasts, actuals, segments=[])


def test_columns_starting_with_q_are_not_quantiles():
    forecasts, actuals = _tables()
    forecasts = forecasts.assign(quantity=1.0, q_total=1.0, **{"q0.5_old": 0.0})
    table = monitor(forecasts, actuals, segments=[]).table
    assert table["wape"].tolist() == [0.0, 0.0]
    assert table["coverage_90"].tolist() == [1.0, 1.0]

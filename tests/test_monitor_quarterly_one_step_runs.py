"""Monitoring one-step forecasts made once a quarter or once a year (a monthly model's next
month, forecast at each quarterly or yearly review): their rows are months, whatever the
spacing of their dates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.monitor import monitor


@pytest.mark.parametrize("every", ["3MS", "12MS"])
def test_one_step_runs_a_quarter_or_a_year_apart_are_scored(every):
    """Each run's WAPE is its one row's |actual - median| / actual, as by hand. The forecasts'
    dates are spaced like quarters or years, which a panel refuses; the monitor refused the
    table with that panel error."""
    runs = pd.date_range("2021-01-01", periods=6, freq=every)
    median = np.arange(6, dtype=float) + 8.0
    forecasts = pd.DataFrame(
        {"item_id": "A", "location_id": "FC1", "date": runs, "step": 1,
         "q0.1": median - 3, "q0.5": median, "q0.9": median + 3}
    )  # fmt: skip
    months = pd.date_range("2021-01-01", runs[-1], freq="MS")
    actual = 10.0 + (np.arange(len(months)) % 4)
    actuals = pd.DataFrame({"item_id": "A", "location_id": "FC1", "date": months, "demand": actual})
    report = monitor(forecasts, actuals, segments=[])
    table = report.table.set_index("origin")
    by_hand = pd.Series(actual, index=months)[runs]
    expected = np.abs(by_hand.to_numpy() - median) / by_hand.to_numpy()
    assert list(table.index) == list(runs)
    np.testing.assert_allclose(table["wape"].to_numpy(), expected)
    assert (table["n_rows"] == 1).all()

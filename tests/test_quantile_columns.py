"""Quantile levels that six significant digits do not tell apart share one forecast column."""

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster


def _panel() -> pd.DataFrame:
    dates = pd.date_range("2023-01-01", periods=60, freq="D")
    demand = np.arange(60, dtype=float) % 5 + 1
    return pd.DataFrame({"item_id": "A", "location_id": "L", "date": dates, "demand": demand})


@pytest.mark.parametrize("levels", [(0.1, 0.1000001, 0.5), (0.5, 0.9999995)])
def test_every_level_gets_its_own_readable_column(levels):
    # Either the levels are refused, or the table holds one column per level, each named so
    # that it reads back as a level inside (0, 1) (plan and monitor parse the names).
    try:
        forecaster = Forecaster("moving_average", horizon=2, quantiles=levels)
    except ValueError as error:
        assert "quantiles" in str(error)
        return
    table = forecaster.fit(_panel()).predict(_panel())
    columns = [c for c in table.columns if c.startswith("q")]
    assert len(columns) == len(levels)
    assert all(0 < float(c[1:]) < 1 for c in columns)


def test_usual_levels_keep_their_names():
    levels = (0.025, 1 / 3, 0.5, 0.975)
    forecaster = Forecaster("moving_average", horizon=2, quantiles=levels)
    table = forecaster.fit(_panel()).predict(_panel())
    assert [c for c in table.columns if c.startswith("q")] == [
        "q0.025", "q0.333333", "q0.5", "q0.975"
    ]  # fmt: skip

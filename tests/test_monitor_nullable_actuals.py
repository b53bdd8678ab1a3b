"""Actuals with nullable dtypes (``DataFrame.convert_dtypes()``, pyarrow-backed columns, a
parquet file of pandas' Int64) whose demand is empty on the periods not yet observed: the
monitor scores them as it does float64 actuals. The negative-demand check compared <NA> to 0
and raised "TypeError: boolean value of NA is ambiguous"."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.monitor import monitor
from forecasting.validate import PanelError


def _tables():
    dates = pd.date_range("2024-03-04", periods=9)
    forecasts = pd.DataFrame(
        {"item_id": "a", "location_id": "L", "date": dates, "step": np.arange(1, 10),
         "q0.1": 2.0, "q0.5": 4.0, "q0.9": 6.0}
    )  # fmt: skip
    demand = [3, 4, 5, 9, 0, 4, 2, None, None]  # the last two days not observed yet
    actuals = pd.DataFrame(
        {"item_id": "a", "location_id": "L", "date": dates,
         "demand": pd.array(demand, dtype="Int64")}
    )  # fmt: skip
    return forecasts, actuals


@pytest.mark.parametrize("backend", ["numpy_nullable", "pyarrow"])
def test_nullable_demand_with_empty_periods_is_scored(backend):
    forecasts, actuals = _tables()
    actuals = actuals.convert_dtypes(dtype_backend=backend)
    report = monitor(forecasts, actuals, segments=[])
    row = report.table.iloc[0]
    # By hand over the 7 observed days: |3-4|+0+1+5+4+0+2 = 13 of 27 units; inside [2, 6]:
    # 3, 4, 5, 4, 2 -> 5 of 7.
    assert row["n_rows"] == 7
    assert row["wape"] == pytest.approx(13 / 27)
    assert row["bias"] == pytest.approx((28 - 27) / 27)
    assert row["coverage_80"] == pytest.approx(5 / 7)


def test_a_negative_nullable_demand_is_still_named():
    forecasts, actuals = _tables()
    actuals.loc[2, "demand"] = -1
    with pytest.raises(PanelError, match="negative values"):
        monitor(forecasts, actuals, segments=[])

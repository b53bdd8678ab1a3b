"""YYYYMMDD numbers held by pandas' pyarrow backend (``read_csv(..., dtype_backend="pyarrow")``)
are read as the numpy column of the same numbers is: an Arrow integer column has no modulo,
and the panel and the monitor raised NotImplementedError instead of reading the dates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import PanelSpec
from forecasting.monitor import monitor
from forecasting.validate import PanelError, validate_panel


def panel(dates) -> pd.DataFrame:
    return pd.DataFrame({"item_id": "A", "location_id": "FC1", "date": dates,
                         "demand": np.arange(1.0, 15.0)})  # fmt: skip


NUMBERS = [20240100 + d for d in range(1, 15)]


@pytest.mark.parametrize("dtype", ["int64[pyarrow]", "double[pyarrow]"])
def test_panel_reads_arrow_yyyymmdd(dtype):
    expected, _ = validate_panel(panel(NUMBERS), PanelSpec())
    got, report = validate_panel(panel(pd.Series(NUMBERS, dtype=dtype)), PanelSpec())
    assert report.freq == "D"
    assert got["date"].iloc[0] == pd.Timestamp("2024-01-01")
    pd.testing.assert_frame_equal(got, expected)


def test_arrow_numbers_not_yyyymmdd_still_refused():
    with pytest.raises(PanelError, match="YYYYMMDD"):
        validate_panel(panel(pd.Series(range(45292, 45306), dtype="int64[pyarrow]")), PanelSpec())


def test_monitor_reads_arrow_yyyymmdd_actuals():
    """Forecasts of 10 a day from 10 January against actuals 10..14: WAPE 10 / 60."""
    forecasts = pd.DataFrame({"item_id": "A", "location_id": "FC1",
                              "date": pd.date_range("2024-01-10", periods=5),
                              "step": range(1, 6), "q0.5": 10.0})  # fmt: skip
    actuals = panel(pd.Series(NUMBERS, dtype="int64[pyarrow]"))
    report = monitor(forecasts, actuals)
    assert report.table["wape"].iloc[0] == pytest.approx(10 / 60)

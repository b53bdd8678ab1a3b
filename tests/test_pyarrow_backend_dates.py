"""Dates held by pandas' pyarrow backend (``dtype_backend="pyarrow"``, Arrow-backed frames
from other libraries) are read as the same dates in numpy's form: a zoned column is its local
calendar days across daylight saving, in a panel, in monitor actuals and in a simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import PanelSpec
from forecasting.monitor import monitor
from forecasting.validate import validate_panel
from kernels import Policy, plan
from kernels.simulation import simulate

ZONED = "timestamp[ns, tz=America/New_York][pyarrow]"


def local_days(n: int = 14) -> pd.Series:
    """Local midnights in New York across the start of daylight saving (10 March 2024)."""
    return pd.Series(pd.date_range("2024-03-04", periods=n, tz="America/New_York"))


@pytest.mark.parametrize("dtype", [ZONED, "timestamp[us][pyarrow]", "date32[pyarrow]"])
def test_panel_reads_arrow_dates_as_numpy_dates(dtype):
    """The panel of Arrow dates is the panel of the same dates in numpy's form (a zoned
    column raised a TypeError comparing with a naive date)."""
    days = local_days()
    plain = pd.DataFrame({"item_id": "A", "location_id": "FC1", "date": days.dt.tz_localize(None),
                          "demand": np.arange(14.0)})  # fmt: skip
    source = days if "tz=" in dtype else days.dt.tz_localize(None)
    arrow = plain.assign(date=source.astype(dtype))
    expected, _ = validate_panel(plain, PanelSpec())
    got, report = validate_panel(arrow, PanelSpec())
    assert report.freq == "D"
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize("freq", ["M", "W", "D"])
def test_panel_reads_periods_as_the_days_they_start(freq):
    """A ``pd.Period`` column (``to_period("M")``, a monthly report's months) was refused as
    "unparseable or missing dates" on every row; it is the panel of its periods' first days."""
    periods = pd.Series(pd.period_range("2023-01-01", periods=30, freq=freq))
    panel = pd.DataFrame({"item_id": "A", "location_id": "FC1", "date": periods,
                          "demand": np.arange(30.0)})  # fmt: skip
    expected, _ = validate_panel(panel.assign(date=periods.dt.start_time), PanelSpec())
    got, report = validate_panel(panel, PanelSpec())
    assert report.freq == freq
    pd.testing.assert_frame_equal(got, expected)


def test_monitor_reads_zoned_arrow_actuals_as_local_days():
    """Seven daily forecasts from 11 March against zoned Arrow actuals: every row is scored
    (the merge on the date column raised a ValueError)."""
    forecasts = pd.DataFrame(
        {"item_id": "A", "location_id": "FC1", "date": pd.date_range("2024-03-11", periods=7),
         "step": range(1, 8), "q0.5": 5.0}
    )  # fmt: skip
    actuals = pd.DataFrame(
        {"item_id": "A", "location_id": "FC1", "date": local_days().astype(ZONED), "demand": 4.0}
    )
    report = monitor(forecasts, actuals, segments=[])
    assert report.table["n_rows"].tolist() == [7]
    assert report.table["wape"].tolist() == pytest.approx([0.25])


@pytest.mark.slow
def test_simulation_reads_zoned_arrow_days_as_local_days():
    """A simulation over 14 zoned Arrow days across daylight saving replays 14 days, as the
    same days in numpy's zoned form do (the 23-hour day read as a repeated day)."""
    forecast = pd.DataFrame(
        {"item_id": ["A"], "location_id": ["FC1"], "demand_mean": [4.0], "demand_std": [1.0]}
    )
    inventory = forecast[["item_id", "location_id"]].assign(on_hand=20.0, lead_time_mean=2.0)
    planned = plan(forecast, inventory, Policy(service_level=0.9))
    rows = {"item_id": "A", "location_id": "FC1", "demand": 4.0}
    expected = simulate(planned, pd.DataFrame({**rows, "date": local_days()}), inventory=inventory)
    got = simulate(
        planned, pd.DataFrame({**rows, "date": local_days().astype(ZONED)}), inventory=inventory
    )
    assert len(got.days) == 14
    pd.testing.assert_frame_equal(got.metrics, expected.metrics)

"""The simulation reads a demand table's dates as the forecasting panel does (one
implementation, :func:`kernels.io.read_dates`): dd/mm/yyyy dates and YYYYMMDD integers the panel
accepted were refused by the simulation ("date: not a date", "not a whole day"), and a column
whose day and month no number tells is refused by both."""

import numpy as np
import pandas as pd
import pytest

from forecasting.spec import PanelSpec
from forecasting.validate import PanelError, validate_panel
from kernels import plan
from kernels.simulation import simulate

DAYS = pd.date_range("2024-03-04", periods=21)
KEYS = pd.DataFrame({"item_id": ["sku1"], "location_id": ["FC1"]})


def _demand(dates) -> pd.DataFrame:
    demand = np.tile([8.0, 12.0, 10.0, 9.0, 14.0, 7.0, 10.0], 3)[: len(dates)]
    return pd.DataFrame({"item_id": "sku1", "location_id": "FC1", "date": dates, "demand": demand})


def _plan():
    forecast = KEYS.assign(demand_mean=10.0, demand_std=3.0)
    return plan(forecast, KEYS.assign(on_hand=60.0, lead_time_mean=4.0))


@pytest.mark.parametrize(
    "dates",
    [
        DAYS.strftime("%d/%m/%Y").tolist(),  # day first: 13/03/2024 tells
        DAYS.strftime("%m/%d/%Y").tolist(),  # month first: 03/13/2024 tells
        DAYS.strftime("%d.%m.%y").tolist(),
        [int(d) for d in DAYS.strftime("%Y%m%d")],  # YYYYMMDD integers
    ],
    ids=["dd/mm/yyyy", "mm/dd/yyyy", "dd.mm.yy", "YYYYMMDD"],
)
def test_simulation_and_panel_read_the_same_days(dates):
    table = _demand(dates)
    panel, _ = validate_panel(table.copy(), PanelSpec())
    assert sorted(pd.to_datetime(panel["date"]).unique()) == list(DAYS)
    result = simulate(_plan(), table)
    expected = simulate(_plan(), _demand(DAYS))
    assert list(result.days) == list(DAYS)
    pd.testing.assert_frame_equal(result.metrics, expected.metrics)


def test_a_start_written_yyyymmdd_is_that_day():
    table = _demand([int(d) for d in DAYS.strftime("%Y%m%d")])
    result = simulate(_plan(), table, start=20240311)
    assert list(result.days) == list(DAYS[7:])


def test_ambiguous_day_month_refused_by_both():
    table = _demand(pd.date_range("2024-02-01", periods=12).strftime("%d/%m/%Y").tolist())
    with pytest.raises(PanelError, match="ambiguous dates: '01/02/2024'"):
        validate_panel(table.copy(), PanelSpec())
    with pytest.raises(
        ValueError, match=r"^date: ambiguous dates: '01/02/2024' .* at key \(sku1, FC1\)$"
    ):
        simulate(_plan(), table)

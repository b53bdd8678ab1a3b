"""A forecast row is put in its run by ``date - (step - 1)`` periods, step 1 being the first
forecast period (as ``predict`` writes it). Steps counted from 0 were accepted and dated each
run a period after its first forecast period; fractional steps (truncated) split one run into
several origins, each compared with the others as an earlier forecast; negative steps put the
origins after their rows. They are refused, naming the step column; so are rows without a
date."""

import numpy as np
import pandas as pd
import pytest

from forecasting.monitor import monitor
from forecasting.validate import PanelError

DAYS = pd.date_range("2024-01-01", periods=6, freq="D")
ACTUALS = pd.DataFrame({"item_id": "A", "location_id": "L", "date": DAYS,
                        "demand": [1, 2, 0, 1, 3, 1.0]})  # fmt: skip


def _forecasts(steps):
    return pd.DataFrame({"item_id": "A", "location_id": "L", "date": DAYS, "step": steps,
                         "q0.1": 0.0, "q0.5": 1.0, "q0.9": 3.0})  # fmt: skip


@pytest.mark.parametrize(
    "steps",
    [
        np.arange(0, 6),  # counted from 0
        np.arange(2, 8) / 2,  # 1.0, 1.5, 2.0, ...
        -np.arange(1, 7),
        [1, 2, 3, np.nan, 5, 6],  # a row without a step (a cumulative row)
        [1, 2, 3, "next", 5, 6],
    ],
)
def test_steps_other_than_whole_numbers_from_1_are_refused(steps):
    with pytest.raises(PanelError, match="steps must be whole numbers from 1"):
        monitor(_forecasts(steps), ACTUALS, segments=[])


def test_one_run_from_step_1_is_one_origin_on_its_first_day():
    for steps in (np.arange(1, 7), np.arange(1, 7).astype(float), [str(s) for s in range(1, 7)]):
        report = monitor(_forecasts(steps), ACTUALS, segments=[])
        assert report.table["origin"].tolist() == [DAYS[0]]
        assert np.isclose(report.table["wape"].iloc[0], 4 / 8)  # |1-1|+|1-2|+|1-0|+0+2+0 / 8


@pytest.mark.parametrize("table", ["forecasts", "actuals"])
def test_rows_without_a_date_are_refused(table):
    """A forecast row without a date was dropped as 'no actual yet' (the WAPE of the other
    rows read as the run's); an actual without one failed in pandas' merge."""
    forecasts, actuals = _forecasts(np.arange(1, 7)), ACTUALS.copy()
    frame = forecasts if table == "forecasts" else actuals
    frame["date"] = frame["date"].astype(object)
    frame.loc[2, "date"] = None
    with pytest.raises(PanelError, match=f"missing dates in 1 rows of the {table} table"):
        monitor(forecasts, actuals, segments=[])

"""A monthly lead-time table is written on 30.4375-day horizons from the calendar months.

Planning reads every step of a monthly forecast as 365.25 / 12 = 30.4375 days (the table has
no dates), but the model's horizon h is the demand of calendar months 1..h: from a February
start 28, 59, 89 days. A 45-day lead time of iid daily demand (10 +- 4 a day) was planned
4.8% low from a February start (a 95% cycle-service target met 78%) and 1.8% high from a July
one. ``cumulative_frame`` now reads each series' curve through its months' days at
h * 30.4375 days. Reference: interpolation by hand, and 45 x the daily rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecasting.tables import cumulative_frame
from kernels import Policy, plan

MONTH = 365.25 / 12
KEYS = pd.DataFrame({"item_id": ["feb", "jul"], "location_id": ["FC", "FC"]})
# The panel's grid: months Jan..Mar 2027; February is inside it, July past its end.
DATES = pd.date_range("2027-01-01", periods=3, freq="MS")
ORIGINS = np.array([1, 6])  # February 2027, July 2027
FEB_DAYS, JUL_DAYS = [28, 31, 30], [31, 31, 30]  # Feb Mar Apr, Jul Aug Sep


def test_monthly_horizons_are_read_off_the_calendar_months_by_hand():
    # Two levels of a hand-made cumulative curve over months 1..3 (the same for both series).
    q = np.array([[100.0, 150.0], [250.0, 320.0], [330.0, 420.0]])
    table = cumulative_frame(KEYS, np.arange(2), np.stack([q, q]), [0.1, 0.9], "M", DATES, ORIGINS)
    t1, t2, t3 = MONTH, 2 * MONTH, 3 * MONTH
    # February: months end at days 28, 59, 89; 91.3125 lies 2.3 days past April, at its rate.
    feb = [
        q[0] + (t1 - 28) / 31 * (q[1] - q[0]),
        q[1] + (t2 - 59) / 30 * (q[2] - q[1]),
        q[2] + (t3 - 89) / 30 * (q[2] - q[1]),
    ]
    # July: months end at days 31, 62, 92; every t_h falls before its month's end.
    jul = [
        t1 / 31 * q[0],
        q[0] + (t2 - 31) / 31 * (q[1] - q[0]),
        q[1] + (t3 - 62) / 30 * (q[2] - q[1]),
    ]
    want = np.array(feb + jul)
    np.testing.assert_allclose(table[["q0.1", "q0.9"]].to_numpy(), want, rtol=1e-6)
    assert table["horizon"].tolist() == [1, 2, 3, 1, 2, 3]
    assert table["step_days"].tolist() == [MONTH] * 6


def _calendar_table(days, mu=10.0, sd=4.0, levels=(0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)):
    """Exact quantiles of iid normal daily demand summed over the calendar months."""
    d = np.cumsum(days)[:, None]
    return stats.norm.ppf(np.array(levels)[None, :], mu * d, sd * np.sqrt(d)), list(levels)


@pytest.mark.parametrize("origin, days", [(1, FEB_DAYS), (6, JUL_DAYS)])
def test_a_45_day_lead_time_plans_45_days_of_demand_whatever_the_start_month(origin, days):
    q, levels = _calendar_table(days)
    keys = KEYS.iloc[:1]
    table = cumulative_frame(keys, np.arange(1), q[None], levels, "M", DATES, np.array([origin]))
    inventory = pd.DataFrame({"item_id": ["feb"], "location_id": ["FC"], "on_hand": [0.0],
                              "lead_time_mean": [45.0], "lot_size": [300.0]})  # fmt: skip
    row = plan(table, inventory, Policy(step_days=MONTH)).iloc[0]
    # Before: 428.3 (4.8% low) from February, 458.3 (1.8% high) from July.
    assert row["demand_mean"] == pytest.approx(45 * 10.0, rel=0.005)
    # The 95% cycle-service level met on the true 45 days (0.779 from February before).
    met = stats.norm.cdf(row["reorder_point"], 450.0, 4.0 * np.sqrt(45))
    assert met == pytest.approx(0.95, abs=0.005)


@pytest.mark.parametrize("freq", ["D", "W"])
def test_daily_and_weekly_tables_are_the_model_quantiles(freq):
    q = np.sort(np.random.default_rng(0).gamma(2.0, 10.0, (2, 5, 3)), axis=2).cumsum(axis=1)
    dates = pd.date_range("2027-02-01", periods=3, freq={"D": "D", "W": "W-MON"}[freq])
    table = cumulative_frame(KEYS, np.arange(2), q, [0.1, 0.5, 0.9], freq, dates, ORIGINS)
    values = table[["q0.1", "q0.5", "q0.9"]].to_numpy()
    np.testing.assert_array_equal(values, q.reshape(10, 3).astype(np.float32))


@pytest.mark.slow  # trains and exports a tiny network
@pytest.mark.filterwarnings("ignore:1 of 2 series end before")
def test_a_monthly_package_writes_the_lead_time_table_python_writes(tmp_path, monkeypatch):
    """``forecast predict --cumulative`` and the ONNX package (the service's /v1/plan) both
    re-read the months at 30.4375 days, from each series' own start (here February and July)."""
    from forecasting import Forecaster, PanelSpec
    from serving.export import export_run
    from serving.runtime import ForecastPackage
    from training import TrainConfig

    dates = pd.date_range("2024-01-01", "2027-06-01", freq="MS")
    rng = np.random.default_rng(0)
    # "feb" ends in January 2027 (forecast from February), "jul" in June (from July).
    ends = {"feb": len(dates) - 5, "jul": len(dates)}
    frame = pd.concat(
        pd.DataFrame({"item_id": item, "location_id": "FC", "date": dates[:end],
                      "demand": rng.poisson(300.0, end).astype(float)})
        for item, end in ends.items()
    )  # fmt: skip
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=8, progress_bar=False)
    forecaster = Forecaster("lstm", 3, spec=PanelSpec(freq="M"), train=train, hidden_size=8)
    forecaster.fit(frame, run_dir=tmp_path / "run")
    python = forecaster.predict(frame, cumulative=3)
    served = ForecastPackage(export_run(tmp_path / "run", tmp_path / "repo")).predict(
        frame, cumulative=3
    )
    assert list(served.columns) == list(python.columns)
    keys = ["item_id", "location_id", "horizon", "step_days"]
    pd.testing.assert_frame_equal(served[keys], python[keys])
    values = [c for c in python.columns if c.startswith("q")]
    np.testing.assert_allclose(served[values], python[values], rtol=1e-4, atol=1e-3)
    # The model's own sums over months 1..3, read at 30.4375-day steps through each series'
    # months: February 2027 (28, 31, 30 days) and July 2027 (31, 31, 30).
    monkeypatch.setattr("forecasting.tables._monthly_on_average_months", lambda q, *_: q)
    months = forecaster.predict(frame, cumulative=3)
    for item, days in [("feb", FEB_DAYS), ("jul", JUL_DAYS)]:
        ends = np.concatenate([[0.0], np.cumsum(days)])
        q = np.vstack([np.zeros(len(values)), months.loc[months["item_id"] == item, values]])
        t = MONTH * np.arange(1, 4)
        want = [np.interp(t, ends, q[:, k]) for k in range(len(values))]
        want = np.array(want).T
        want[-1] += (t[-1] - ends[-1]) * (q[-1] - q[-2]) / days[-1] * (t[-1] > ends[-1])
        got = python.loc[python["item_id"] == item, values].to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5)

"""A cumulative forecast tells the plan how long its steps are.

``forecast predict --cumulative K`` of a weekly model wrote ``item_id, location_id, horizon,
q...`` and nothing else: the table has no dates, so ``stockcast plan`` without ``--step-days``
read its weeks as days. With transit times that fit in the horizon (2-5 days of an 8-week
forecast) nothing was refused: a weekly LSTM's plan ordered 1,939 units where the same plan
with ``--step-days 7`` orders none (reorder points 555 against 75: five weeks of demand for a
5-day lead time). The table now states its ``step_days``, the command plans with it, and a
step length that disagrees with it is an error. Reference: the same plan with the step given.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from forecasting.tables import cumulative_frame
from kernels import Policy, plan
from serving.cli import main

LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]
MU, SD = 70.0, 15.0  # one week's demand


def _quantiles(horizons=8):
    h = np.arange(1, horizons + 1)[None, :, None]
    quantiles = stats.norm.ppf(np.array(LEVELS)[None, None, :], MU * h, SD * np.sqrt(h))
    return np.repeat(quantiles, 2, axis=0)  # sku1 and sku2


def _weekly_table(horizons=8):
    """What ``forecast predict --cumulative 8`` of a weekly model writes."""
    rows = [("sku1" if k == 0 else "sku2", "FC1", h + 1, 7.0, *q)
            for k, key in enumerate(_quantiles(horizons)) for h, q in enumerate(key)]  # fmt: skip
    return pd.DataFrame(rows, columns=["item_id", "location_id", "horizon", "step_days",
                                       *[f"q{lv:g}" for lv in LEVELS]])  # fmt: skip


def _inventory():
    return pd.DataFrame({"item_id": ["sku1", "sku2"], "location_id": ["FC1", "FC1"],
                         "on_hand": [120.0, 120.0], "lead_time_mean": [5.0, 3.0]})  # fmt: skip


@pytest.mark.parametrize("freq, days", [("D", 1.0), ("W", 7.0), ("M", 365.25 / 12)])
def test_a_cumulative_table_states_the_days_of_its_steps(freq, days):
    keys = pd.DataFrame({"item_id": ["sku1", "sku2"], "location_id": ["FC1", "FC1"]})
    dates = pd.date_range("2027-01-04", periods=3, freq={"D": "D", "W": "W-MON", "M": "MS"}[freq])
    table = cumulative_frame(keys, np.arange(2), _quantiles(), LEVELS, freq, dates, [3, 3])
    assert table["step_days"].tolist() == [days] * len(table)
    if freq == "W":
        pd.testing.assert_frame_equal(table, _weekly_table(), check_dtype=False)


def test_plan_reads_a_weekly_cumulative_forecast_in_weeks(tmp_path, capsys):
    _weekly_table().to_parquet(tmp_path / "ltd.parquet", index=False)
    _inventory().to_csv(tmp_path / "inv.csv", index=False)
    args = ["plan", "--forecast", str(tmp_path / "ltd.parquet"),
            "--inventory", str(tmp_path / "inv.csv")]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "plain.csv")]) == 0
    assert main([*args, "--out", str(tmp_path / "weeks.csv"), "--step-days", "7"]) == 0
    plain, weeks = pd.read_csv(tmp_path / "plain.csv"), pd.read_csv(tmp_path / "weeks.csv")
    pd.testing.assert_frame_equal(plain, weeks)
    # 5 days of N(70, 15) weekly demand: the plan reads 5/7 of a week, not 5 weeks (350).
    assert plain["demand_mean"].iloc[0] == pytest.approx(MU * 5 / 7, rel=1e-6)
    assert plain["order_qty"].sum() == 0.0
    # A step length that disagrees with the table's is refused, naming the file and both.
    assert main([*args, "--out", str(tmp_path / "days.csv"), "--step-days", "1"]) == 2
    err = capsys.readouterr().err
    assert "ltd.parquet" in err and "7 days" in err and "Traceback" not in err
    assert not (tmp_path / "days.csv").exists()


def test_the_library_refuses_a_step_that_disagrees_with_the_table():
    table = _weekly_table()
    with pytest.raises(ValueError, match=r"forecast: its steps are 7 days .* step_days 7"):
        plan(table, _inventory(), Policy())
    row = plan(table, _inventory(), Policy(step_days=7.0)).iloc[1]
    # 3 days of a weekly forecast: the quantiles interpolated between 0 and 1 week.
    want = 3 / 7 * stats.norm.ppf(0.95, MU, SD)
    assert row["reorder_point"] == pytest.approx(want, rel=1e-6)
    assert math.isclose(row["demand_mean"], MU * 3 / 7, rel_tol=1e-6)


def test_a_table_of_mixed_step_lengths_is_refused():
    table = _weekly_table()
    table.loc[3, "step_days"] = 1.0
    with pytest.raises(ValueError, match="step_days: expected one number of days"):
        plan(table, _inventory(), Policy(step_days=7.0))


@pytest.mark.parametrize(
    ("cells", "shown"), [(["week"], "got 'week'"), ([True], "got True"), ([7.0, "x"], "got 7, 'x'")]
)
def test_a_step_days_that_is_not_a_number_is_named_as_sent(cells, shown):
    """Text and true/false are read as no number: the error said "got nan", naming neither."""
    table = _weekly_table()
    table["step_days"] = pd.Series([cells[min(k, len(cells) - 1)] for k in range(len(table))],
                                   dtype=object)  # fmt: skip
    with pytest.raises(ValueError, match=f"step_days: expected one number of days .* {shown}$"):
        plan(table, _inventory(), Policy(step_days=7.0))


@pytest.mark.slow  # the service compiles the planning kernels before it answers
def test_the_service_plans_a_posted_weekly_table_in_weeks(tmp_path):
    """/v1/plan with a forecast table reads its ``step_days`` as ``stockcast plan`` does: it
    refused the weekly table with a step_days mismatch unless the client repeated the 7."""
    from fastapi.testclient import TestClient

    from serving.service.app import create_app
    from serving.service.config import ServiceConfig

    (tmp_path / "repo").mkdir()
    body = {
        "forecast": _weekly_table().to_dict(orient="records"),
        "inventory": _inventory().to_dict(orient="records"),
    }
    expected = plan(_weekly_table(), _inventory(), Policy(step_days=7.0))
    with TestClient(create_app(tmp_path / "repo", ServiceConfig(reload_s=60))) as client:
        answer = client.post("/v1/plan", json=body)
        assert answer.status_code == 200, answer.text[:300]
        got = pd.DataFrame(answer.json()["rows"])
        np.testing.assert_allclose(got["reorder_point"], expected["reorder_point"], rtol=1e-9)
        body["policy"] = {"step_days": 1.0}
        refused = client.post("/v1/plan", json=body)
    assert refused.status_code == 422 and "step_days" in refused.json()["detail"]

"""A cumulative-quantile forecast with steps longer than a day (weekly, monthly) plans a lead
time that falls between two steps from the demand up to it, not from a mixture of the whole
steps on either side.

A 10-day lead time of a weekly forecast was split 4/7 : 3/7 between 1 and 2 weeks and the two
weeks' distributions mixed: the 95% reorder point of N(70, 10) weekly demand came out 156.9
against 117.9-119.7 for 10 days of demand (three times the safety stock), and a 2-day lead time
planned 79.4 against 24.7. The parametric and sample-path forms of the same forecast gave the
right figures. References: 10 days of the forecast's weeks, computed directly.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from kernels import Policy, plan
from serving.service.app import _plan
from serving.service.schemas import PlanRequest

LEVELS = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99]
MU, SD = 70.0, 10.0  # one week's demand, weeks independent


def _weekly(steps=6, mu=MU, sd=SD):
    rows = [("a", "F", h, *stats.norm.ppf(LEVELS, mu * h, sd * math.sqrt(h)))
            for h in range(1, steps + 1)]  # fmt: skip
    return pd.DataFrame(rows, columns=["item_id", "location_id", "horizon",
                                       *[f"q{lv}" for lv in LEVELS]])  # fmt: skip


def _inventory(**columns):
    return pd.DataFrame({"item_id": ["a"], "location_id": ["F"], "on_hand": [0.0], **columns})


@pytest.mark.parametrize("days", [2.0, 3.0, 10.0, 17.0])
def test_a_lead_time_between_weeks_plans_the_demand_of_its_days(days):
    row = plan(_weekly(), _inventory(lead_time_mean=[days]), Policy(step_days=7.0)).iloc[0]
    t = days / 7
    whole, part = math.floor(t), t - math.floor(t)
    # Demand of the last part-week spread evenly over it (W_1 + ... + W_k + f W_k+1), and
    # independent days (variance in proportion to the days): the plan lies between the two.
    spread = stats.norm.ppf(0.95, MU * t, SD * math.sqrt(whole + part**2))
    daily = stats.norm.ppf(0.95, MU * t, SD * math.sqrt(t))
    assert row["demand_mean"] == pytest.approx(MU * t, rel=1e-6)
    assert spread * (1 - 1e-6) <= row["reorder_point"] <= daily * (1 + 1e-6)


def test_the_three_forecast_forms_agree_on_a_ten_day_lead_time_of_a_weekly_forecast():
    inventory = _inventory(lead_time_mean=[10.0])
    policy = Policy(step_days=7.0)
    cumulative = plan(_weekly(), inventory, policy)["reorder_point"].iloc[0]
    moments = pd.DataFrame({"item_id": ["a"], "location_id": ["F"], "demand_mean": [MU],
                            "demand_std": [SD]})  # fmt: skip
    parametric = plan(moments, inventory, policy)["reorder_point"].iloc[0]
    assert cumulative == pytest.approx(parametric, rel=0.01)  # 156.9 against 119.7 before
    assert cumulative < 125.0


def test_lead_time_records_in_days_of_a_weekly_forecast():
    records = pd.DataFrame({"item_id": "a", "location_id": "F",
                            "lead_time_days": [9.0, 10.0, 11.0, 10.0]})  # fmt: skip
    row = plan(_weekly(), _inventory(), Policy(step_days=7.0), lead_times=records).iloc[0]
    # Reference: each record equally likely, demand of its days spread evenly over each week.
    rng = np.random.default_rng(0)
    n = 400_000
    weeks = rng.normal(MU, SD, size=(n, 2))
    lead = rng.choice(records["lead_time_days"].to_numpy(), size=n)
    demand = weeks[:, 0] + (lead - 7.0) / 7.0 * weeks[:, 1]
    want = np.quantile(demand, 0.95)
    assert row["demand_mean"] == pytest.approx(MU * 10 / 7, rel=1e-6)
    assert row["reorder_point"] == pytest.approx(want, rel=0.03)  # 156.9 before


def test_a_monthly_forecast_plans_a_45_day_lead_time():
    step = 365.25 / 12
    row = plan(_weekly(mu=300.0, sd=40.0), _inventory(lead_time_mean=[45.0]),
               Policy(step_days=step)).iloc[0]  # fmt: skip
    t = 45.0 / step
    part = t - 1
    spread = stats.norm.ppf(0.95, 300.0 * t, 40.0 * math.sqrt(1 + part**2))
    daily = stats.norm.ppf(0.95, 300.0 * t, 40.0 * math.sqrt(t))
    assert spread * 0.995 <= row["reorder_point"] <= daily * 1.005


# /v1/plan from ``series`` takes the forecast's step length from the model's frequency (README);
# a ``policy.step_days`` that disagrees with it is refused, not used: a weekly model's weeks read
# as days planned a 3-day lead time on three weeks of demand (seven times too much), and a daily
# model's days read as weeks a seventh of it.

SERVICE_LEVELS = [0.05, 0.5, 0.95]


def _weekly_table():
    rows = [
        ("a", "F", h, *stats.norm.ppf(SERVICE_LEVELS, 70 * h, 10 * np.sqrt(h))) for h in range(1, 9)
    ]
    return pd.DataFrame(rows, columns=["item_id", "location_id", "horizon", "q0.05", "q0.5",
                                       "q0.95"])  # fmt: skip


def _plan_body(policy):
    inventory = [{"item_id": "a", "location_id": "F", "on_hand": 0.0, "lead_time_mean": 21.0}]
    return PlanRequest(inventory=inventory, series=[{"x": 1}], model="m", policy=policy)


def test_the_model_step_length_is_used_without_a_policy_one():
    for policy in (None, {"service_level": 0.95}, {"step_days": 7}, {"step_days": 7.0}):
        answer = _plan(_plan_body(policy), _weekly_table(), "m/1", 7.0)
        assert answer.rows[0]["demand_mean"] == pytest.approx(210.0, rel=1e-6)  # 3 weeks


@pytest.mark.parametrize("given", [1.0, 3, 30.4375])
def test_a_step_length_other_than_the_models_is_refused(given):
    with pytest.raises(ValueError, match=r"step_days .* disagrees with the model m/1"):
        _plan(_plan_body({"step_days": given}), _weekly_table(), "m/1", 7.0)


def test_a_forecast_table_given_in_the_request_keeps_the_policy_step_length():
    body = PlanRequest(
        inventory=[{"item_id": "a", "location_id": "F", "on_hand": 0.0, "lead_time_mean": 21.0}],
        forecast=[{"x": 1}],
        policy={"step_days": 7.0},
    )
    answer = _plan(body, _weekly_table(), None)
    assert answer.rows[0]["demand_mean"] == pytest.approx(210.0, rel=1e-6)


def test_a_lead_time_wholly_past_the_horizon_is_named_at_the_largest_tolerance():
    """horizon_tolerance 1 (its largest value) allows any mass beyond the horizon, but a row with
    none within it has nothing to plan from: its weights were 0 / 0 and the error read
    "weights_a: missing or non-finite value at row 0", naming neither key nor horizon."""
    policy = Policy(step_days=7.0, horizon_tolerance=1.0)
    expected = r"exceeds the forecast horizon \(2 steps\) at key \(a, F\)"
    with pytest.raises(ValueError, match=expected):
        plan(_weekly(steps=2), _inventory(lead_time_mean=[30.0]), policy)

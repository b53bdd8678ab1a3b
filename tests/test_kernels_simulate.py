"""kernels.simulation: the Numba day-by-day simulation against a plain-Python reference, worked
examples, the weeks-of-supply rule's calibration, a textbook fill-rate check and bad input."""

from __future__ import annotations

import ast
import doctest
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import kernels.simulation as sim
from kernels import Policy, plan
from kernels import _simulate as core
from kernels.config import RULE_RQ, RULE_RS, RULE_SS
from kernels.policies import order_quantities
from kernels.simulation import WeeksOfSupply, _prepare, compare, simulate, weeks_of_supply_rule

ROOT = Path(__file__).resolve().parents[1]


# --- helpers ------------------------------------------------------------------------------------


def _demand_table(matrix, keys, start="2024-01-01", day=False):
    n, n_days = matrix.shape
    out = pd.DataFrame(
        {
            "item_id": np.repeat(keys["item_id"].to_numpy(), n_days),
            "location_id": np.repeat(keys["location_id"].to_numpy(), n_days),
            "demand": matrix.reshape(-1),
        }
    )
    if day:
        out["day"] = np.tile(np.arange(n_days), n)
    else:
        out["date"] = np.tile(pd.date_range(start, periods=n_days), n)
    return out


def _keys(n):
    return pd.DataFrame({"item_id": [f"sku{i}" for i in range(n)], "location_id": "FC1"})


def _one(review="continuous", **cols):
    """A one-key plan table (the columns simulate reads)."""
    base = dict(item_id="sku0", location_id="FC1", review=review, lead_time_mean=4.0)
    base.update(cols)
    return pd.DataFrame([base])


def _random_plan(rng, n):
    keys = _keys(n)
    periodic = rng.random(n) < 0.5
    pack = rng.choice([1.0, 1.0, 4.0, 6.0], size=n)
    moq = np.where(rng.random(n) < 0.3, rng.choice([5.0, 12.0, 20.0], size=n), 0.0)
    lot = pack * np.maximum(rng.integers(1, 8, size=n), np.ceil(moq / pack))
    r = rng.uniform(0, 40, size=n).round(1)
    s_up = rng.uniform(5, 80, size=n).round(1)
    table = keys.assign(
        review=np.where(periodic, "periodic", "continuous"),
        reorder_point=np.where(periodic, s_up, r),
        order_up_to=np.where(periodic, s_up, r + lot),
        lot_size=np.where(periodic, np.nan, lot),
        review_period=np.where(periodic, rng.integers(1, 8, size=n), 0),
        case_pack=pack,
        moq=moq,
        lead_time_mean=rng.uniform(0, 6, size=n).round(1),
        lead_time_std=np.where(rng.random(n) < 0.5, rng.uniform(0, 2, size=n), 0.0),
        on_hand=rng.integers(0, 60, size=n).astype(float),
        on_order=np.where(rng.random(n) < 0.4, rng.integers(1, 30, size=n), 0).astype(float),
        daily_demand=rng.uniform(0, 8, size=n),
    )
    return table


def _reference(table, demand, lead, lost_sales, weekly=None):
    """Plain-Python day-by-day simulation; each day's orders come from one call of
    kernels.policies.order_quantities over the rows that review that day.

    ``weekly``: (weeks, review_days, window) for the weeks-of-supply rule, whose trailing average
    is summed here day by day (days before the table count at ``daily_demand``).
    """
    n, n_days = demand.shape
    out = {k: np.zeros((n, n_days)) for k in ("on_hand", "on_order", "served", "ordered")}
    periodic = (table["review"] == "periodic").to_numpy()
    if weekly is not None:
        weeks, review_days, window = weekly
        rule = np.full(n, "RS")
        period = np.full(n, review_days)
    else:
        rule = np.where(periodic, "RS", "rQ")
        period = np.where(periodic, table["review_period"], 1).astype(int)
    outstanding = [[] for _ in range(n)]  # per row: [arrival day, units]
    net = table["on_hand"].to_numpy(dtype=float).copy()
    for i in range(n):
        if table["on_order"].iloc[i] > 0:
            outstanding[i].append((int(lead[i, 0]), table["on_order"].iloc[i]))
    for t in range(n_days):
        for i in range(n):
            got = sum(q for a, q in outstanding[i] if a == t)
            outstanding[i] = [(a, q) for a, q in outstanding[i] if a != t]
            net[i] += got
            d = demand[i, t]
            served = min(d, max(net[i], 0.0))
            net[i] -= served if lost_sales else d
            out["served"][i, t] = served
        due = t % period == 0
        position = np.array([net[i] + sum(q for _, q in outstanding[i]) for i in range(n)])
        if weekly is not None:
            past = [
                [
                    demand[i, j] if j >= 0 else table["daily_demand"].iloc[i]
                    for j in range(t - window + 1, t + 1)
                ]
                for i in range(n)
            ]
            up_to = 7.0 * weeks * (np.array([sum(p) for p in past]) / window)
        else:
            up_to = table["order_up_to"].to_numpy()
        qty = order_quantities(
            position[due],
            rule=rule[due],
            reorder_point=table["reorder_point"].to_numpy()[due],
            order_up_to=up_to[due],
            lot_size=table["lot_size"].to_numpy()[due],
            case_pack=table["case_pack"].to_numpy()[due],
            moq=table["moq"].to_numpy()[due],
        )
        for i, q in zip(np.flatnonzero(due), qty):
            if q > 0:
                outstanding[i].append((t + int(lead[i, t + 1]) + 1, q))
                out["ordered"][i, t] = q
        for i in range(n):
            out["on_hand"][i, t] = max(net[i], 0.0)
            out["on_order"][i, t] = sum(q for _, q in outstanding[i])
    return out


# --- the scalar order rule is order_quantities --------------------------------------------------


def test_scalar_order_rule_agrees_with_order_quantities():
    rng = np.random.default_rng(3)
    n = 3000
    pack = rng.choice([1.0, 3.0, 6.0, 0.5], size=n)
    moq = np.where(rng.random(n) < 0.4, rng.choice([4.0, 10.0, 25.0], size=n), 0.0)
    lot = pack * np.maximum(rng.integers(1, 9, size=n), np.ceil(moq / pack))
    r = rng.uniform(-5, 50, size=n).round(rng.integers(0, 3))
    s_up = r + rng.uniform(0, 40, size=n).round(1)
    # Positions on and near the levels, where the rules' tie-breaking shows.
    ip = np.where(rng.random(n) < 0.3, r - lot * rng.integers(0, 4, size=n), rng.normal(r, 20))
    for name, code in (("rQ", RULE_RQ), ("sS", RULE_SS), ("RS", RULE_RS)):
        want = order_quantities(
            ip, rule=name, reorder_point=r, order_up_to=s_up, lot_size=lot, case_pack=pack, moq=moq
        )
        got = [
            core.order_quantity(code, r[i], s_up[i], lot[i], ip[i], pack[i], moq[i])
            for i in range(n)
        ]
        np.testing.assert_array_equal(got, want, err_msg=name)


# --- the kernel against the reference -----------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("lost_sales", [True, False])
def test_kernel_matches_reference_on_random_instances(seed, lost_sales):
    rng = np.random.default_rng(seed)
    n, n_days = 12, 45
    table = _random_plan(rng, n)
    demand = rng.poisson(rng.uniform(0.5, 8, size=(n, 1)), size=(n, n_days)).astype(float)
    # Half the keys draw their lead times from records, the rest from the gamma of the plan.
    records = pd.DataFrame(
        {
            "item_id": np.repeat(table["item_id"].to_numpy()[::2], 5),
            "location_id": "FC1",
            "lead_time_days": rng.integers(0, 9, size=5 * len(table[::2])).astype(float),
        }
    )
    dtable = _demand_table(demand, table)
    res = simulate(table, dtable, records, seed=seed, lost_sales=lost_sales)
    setup = sim._prepare(table, dtable, records, None, None, seed, lost_sales, None)
    ref = _reference(table, demand, setup.lead, lost_sales)
    for name in ("on_hand", "on_order", "served", "ordered"):
        np.testing.assert_array_equal(res.paths[name], ref[name], err_msg=name)
    m = res.metrics
    np.testing.assert_array_equal(m["orders"], (ref["ordered"] > 0).sum(axis=1))
    np.testing.assert_array_equal(m["stockout_days"], (ref["served"] < demand).sum(axis=1))
    np.testing.assert_allclose(m["avg_on_hand"], ref["on_hand"].mean(axis=1), rtol=1e-12)
    with np.errstate(invalid="ignore"):
        np.testing.assert_allclose(
            m["fill_rate"], ref["served"].sum(1) / demand.sum(1), rtol=1e-12, equal_nan=True
        )
    # Records keys bootstrap their own records; the others draw whole days >= 0.
    assert np.isin(setup.lead[::2], records["lead_time_days"].to_numpy()).all()
    assert setup.lead.min() >= 0


def test_kernel_matches_reference_with_continuous_demand():
    rng = np.random.default_rng(8)
    n, n_days = 10, 60
    table = _random_plan(rng, n)
    demand = rng.gamma(1.5, 3.0, size=(n, n_days))
    dtable = _demand_table(demand, table, day=True)
    res = simulate(table, dtable, seed=4, lost_sales=False)
    setup = sim._prepare(table, dtable, None, None, None, 4, False, None)
    ref = _reference(table, demand, setup.lead, False)
    for name in ("on_hand", "on_order", "served", "ordered"):
        np.testing.assert_allclose(res.paths[name], ref[name], rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("lost_sales", [True, False])
def test_weeks_of_supply_kernel_matches_reference(lost_sales):
    rng = np.random.default_rng(5)
    n, n_days = 8, 50
    table = _random_plan(rng, n)
    demand = rng.poisson(rng.uniform(1, 6, size=(n, 1)), size=(n, n_days)).astype(float)
    dtable = _demand_table(demand, table)
    rule = WeeksOfSupply(weeks=1.37, review_days=5, window=10)
    res = simulate(table, dtable, seed=2, rule=rule, lost_sales=lost_sales)
    setup = sim._prepare(table, dtable, None, None, None, 2, lost_sales, None)
    ref = _reference(table, demand, setup.lead, lost_sales, weekly=(1.37, 5, 10))
    for name in ("on_hand", "on_order", "served", "ordered"):
        np.testing.assert_allclose(res.paths[name], ref[name], rtol=1e-12, atol=1e-9)
    assert set(np.flatnonzero(res.paths["ordered"].any(axis=0)) % 5) == {0}
    assert (res.metrics["weeks"] == 1.37).all()


# --- worked examples ----------------------------------------------------------------------------


def _constant(rate, n_days, n=1):
    return _demand_table(np.full((n, n_days), float(rate)), _keys(n))


def test_rq_covering_lead_time_demand_never_stocks_out():
    # 10 a day, lead time 4: r = 40 covers the lead-time demand exactly.
    demand = _constant(10, 120)
    ok = simulate(_one(reorder_point=40.0, lot_size=30.0, on_hand=70.0), demand)
    m = ok.metrics.iloc[0]
    assert m["fill_rate"] == 1.0 and m["stockout_days"] == 0
    # Orders at positions 40, 40, ...: every 3 days, 30 units each, arriving 5 mornings later.
    ordered = np.flatnonzero(ok.paths["ordered"][0])
    assert ordered[0] == 2 and (np.diff(ordered) == 3).all()
    assert (ok.paths["ordered"][0, ordered] == 30).all()
    received = np.flatnonzero(ok.paths["received"][0])
    np.testing.assert_array_equal(received, ordered[ordered + 5 < 120] + 5)
    # The stock just before an arrival is r minus the lead-time demand: 0, never short.
    assert ok.paths["on_hand"][0, received - 1].max() == 0.0
    assert m["units_ordered"] == 30 * len(ordered)
    assert m["avg_on_hand"] == pytest.approx(ok.paths["on_hand"][0].mean())
    assert m["turns"] == pytest.approx(m["served"] / m["avg_on_hand"] * 365 / 120)
    assert m["days_of_supply"] == pytest.approx(m["avg_on_hand"] / 10.0)
    # One unit less: the order waits a day (position 30, not 40) and cycles run short.
    short = simulate(_one(reorder_point=39.0, lot_size=30.0, on_hand=70.0), demand)
    assert short.metrics["stockout_days"].iloc[0] > 10
    assert short.metrics["fill_rate"].iloc[0] < 1.0


def test_periodic_orders_land_every_review_period():
    demand = _constant(5, 70)
    table = _one("periodic", order_up_to=60.0, review_period=7, lead_time_mean=3.0, on_hand=60.0)
    res = simulate(table, demand)
    reviews = np.arange(0, 70, 7)
    ordered = res.paths["ordered"][0]
    np.testing.assert_array_equal(np.flatnonzero(ordered), reviews)
    # Day 0 replaces the 5 sold that day, every later review the week's 35.
    np.testing.assert_array_equal(ordered[reviews], [5.0] + [35.0] * 9)
    # Placed at the end of day t with lead time 3: on the shelf the morning of day t + 4.
    np.testing.assert_array_equal(np.flatnonzero(res.paths["received"][0]), reviews + 4)
    assert res.metrics["fill_rate"].iloc[0] == 1.0


def test_case_pack_and_moq_shape_periodic_orders():
    demand = _constant(5, 28)
    table = _one(
        "periodic",
        order_up_to=50.0,
        review_period=7,
        lead_time_mean=2.0,
        on_hand=50.0,
        case_pack=12.0,
        moq=30.0,
    )
    res = simulate(table, demand)
    q = res.paths["ordered"][0]
    assert set(q[q > 0]) == {36.0}  # needs 5 (day 0) or 35: at least 30, whole cases of 12


def test_initial_on_order_and_lead_time_records():
    demand = _constant(0, 20)
    table = _one(
        reorder_point=-1.0, lot_size=1.0, on_hand=0.0, on_order=25.0, lead_time_mean=np.nan
    )
    records = pd.DataFrame(
        {"item_id": ["sku0"] * 3, "location_id": "FC1", "lead_time_days": [2.6, 2.6, 3.4]}
    )
    res = simulate(table, demand, records)
    # The initial pipeline was placed the day before day 0: a 3-day lead time lands on day 3.
    received = res.paths["received"][0]
    assert received.sum() == 25 and received[3] == 25
    np.testing.assert_array_equal(res.paths["on_order"][0, :3], 25.0)
    assert res.metrics["ending_on_hand"].iloc[0] == 25.0


def test_units_held_by_inspection_do_not_start_the_replay_as_stock():
    """A plan made with inspection holds replayed against its inventory starts from the sellable
    units: the inventory's on_hand still counts the held ones."""
    keys = pd.DataFrame({"item_id": ["a", "b"], "location_id": ["FC1", "FC1"]})
    forecast = keys.assign(demand_mean=5.0, demand_std=2.0)
    inventory = keys.assign(on_hand=[40.0, 12.0], lead_time_mean=3.0)
    rejected = keys.assign(rejected_units=[30, 0])
    planned = plan(forecast, inventory, rejected=rejected)
    demand = _demand_table(np.full((2, 10), 5.0), keys)
    held = simulate(planned, demand, inventory=inventory)
    sellable = simulate(planned, demand, on_hand=[10.0, 12.0])
    pd.testing.assert_frame_equal(held.metrics, sellable.metrics)
    assert held.paths["on_hand"][0, 0] < 10.0  # day 0 sold from the 10 sellable units


def test_gamma_lead_times_are_seeded_whole_days():
    demand = _constant(3, 200)
    table = _one(reorder_point=10.0, lot_size=9.0, lead_time_mean=5.0, lead_time_std=2.0)
    a = sim._prepare(table, demand, None, None, None, 7, True, None).lead
    b = sim._prepare(table, demand, None, None, None, 7, True, None).lead
    c = sim._prepare(table, demand, None, None, None, 8, True, None).lead
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.int64 and a.min() >= 0
    assert a.mean() == pytest.approx(5.0, abs=0.5) and a.std() == pytest.approx(2.0, abs=0.5)
    r1 = simulate(table, demand, seed=7).metrics
    r2 = simulate(table, demand, seed=7).metrics
    pd.testing.assert_frame_equal(r1, r2)


def test_start_splits_history_from_the_simulated_days():
    keys = _keys(1)
    history = np.full((1, 28), 2.0)
    held = np.full((1, 14), 10.0)
    table = _one("periodic", order_up_to=50.0, review_period=7, on_hand=50.0, daily_demand=99.0)
    dtable = _demand_table(np.concatenate([history, held], axis=1), keys, start="2024-01-01")
    rule = WeeksOfSupply(weeks=1.0, window=28)
    res = simulate(table, dtable, start="2024-01-29", rule=rule)
    assert len(res.days) == 14 and res.days[0] == pd.Timestamp("2024-01-29")
    assert res.metrics["demand"].iloc[0] == 140
    # The trailing average reads history, not daily_demand (28 days of history suffice).
    setup = sim._prepare(table, dtable, None, None, None, 0, True, "2024-01-29")
    rate = sim._trailing_rate(setup, 28)[0]
    assert rate[0] == pytest.approx((27 * 2 + 10) / 28)
    assert rate[13] == pytest.approx((14 * 2 + 14 * 10) / 28)
    # Day 0 ends with 40 on hand, above 7 days of 64/28: no order.
    assert res.paths["ordered"][0, 0] == 0.0


# --- the weeks-of-supply rule matched to the plan's inventory -----------------------------------


def _planned(n, rng, review_period=0, service="cycle", level=0.95, d=None, lead=3.0):
    keys = _keys(n)
    d = rng.uniform(2, 20, size=n) if d is None else np.full(n, d)
    forecast = keys.assign(demand_mean=d, demand_std=np.sqrt(d))
    inventory = keys.assign(
        on_hand=0.0,
        lead_time_mean=lead,
        review_period=review_period,
        service_type=service,
        case_pack=rng.choice([1, 1, 6], size=n),
    )
    return plan(forecast, inventory, Policy(service_level=level)), inventory, d


@pytest.mark.parametrize("review_period", [0, 7])
def test_weeks_of_supply_matches_the_plans_average_inventory(review_period):
    rng = np.random.default_rng(11)
    n, n_days = 30, 120
    p, inventory, d = _planned(n, rng, review_period)
    demand = rng.poisson(d[:, None], size=(n, n_days)).astype(float)
    both = compare(p, _demand_table(demand, p), inventory=inventory.drop(columns="on_hand"))
    target = both.plan.metrics["avg_on_hand"].to_numpy()
    got = both.rule.metrics["avg_on_hand"].to_numpy()
    np.testing.assert_allclose(both.rule.metrics["target_on_hand"], target)
    np.testing.assert_allclose(got, target, rtol=0.01)
    assert (both.rule.metrics["weeks"] > 0).all()
    assert both.summary.loc["avg_on_hand"].astype(float).pipe(lambda s: s.iloc[1] / s.iloc[0]) == (
        pytest.approx(1.0, abs=0.01)
    )
    # More weeks, more stock: the bisection's premise.
    more = simulate(
        p,
        _demand_table(demand, p),
        inventory=inventory.drop(columns="on_hand"),
        rule=WeeksOfSupply(weeks=3.0),
    ).metrics["avg_on_hand"]
    less = simulate(
        p,
        _demand_table(demand, p),
        inventory=inventory.drop(columns="on_hand"),
        rule=WeeksOfSupply(weeks=1.0),
    ).metrics["avg_on_hand"]
    assert (more >= less).all()


def test_weeks_of_supply_rule_hits_a_given_target():
    rng = np.random.default_rng(12)
    n, n_days = 6, 90
    p, inventory, d = _planned(n, rng)
    demand = _demand_table(rng.poisson(d[:, None], size=(n, n_days)).astype(float), p)
    target = 4.0 * d  # four days of mean demand on average
    res = weeks_of_supply_rule(p, demand, target, inventory=inventory, on_hand=0.0)
    np.testing.assert_allclose(res.metrics["avg_on_hand"], target, rtol=0.02)
    assert res.rule == "weeks_of_supply"


# --- textbook: a fill-rate plan delivers its fill rate on stationary demand ---------------------


def _second_order_loss(x, mean, sd):
    """E[((D - x)^+)^2] / 2 for normal D: the integral of the loss function from x to infinity."""
    z = (x - mean) / sd
    return sd**2 / 2 * ((z**2 + 1) * stats.norm.sf(z) - z * stats.norm.pdf(z))


def _stationary(n, n_days, d, rng):
    return np.maximum(rng.normal(d, np.sqrt(d), size=(n, n_days)), 0.0)


def test_periodic_fill_rate_plan_achieves_its_target_over_a_long_horizon():
    # (R, S) with backorders is exactly what the plan's fill-rate formula describes.
    rng = np.random.default_rng(21)
    n, n_days, d = 40, 2500, 10.0
    p, inventory, _ = _planned(n, rng, 7, service="fill_rate", level=0.95, d=d)
    assert p["expected_fill_rate"].to_numpy() == pytest.approx(0.95, abs=1e-6)
    dtable = _demand_table(_stationary(n, n_days, d, rng), p, day=True)
    back = simulate(p, dtable, inventory=inventory, on_hand=0.0, lost_sales=False)
    assert back.overall["fill_rate"] == pytest.approx(0.95, abs=0.01)
    lost = simulate(p, dtable, inventory=inventory, on_hand=0.0)
    assert lost.overall["fill_rate"] >= 0.95 - 0.01


def test_continuous_review_is_reviewed_daily():
    """A continuous-review row is reviewed once a day: an (R = 1, r, Q) system, whose fill rate
    with backorders is 1 - [H_{L+1}(r) - H_{L+1}(r + Q) - H_L(r) + H_L(r + Q)] / (Q d), H the
    second-order loss of demand over L and L + 1 days (Hadley and Whitin). kernels.plan's
    continuous-review formulas assume R = 0, so its fill rate is an upper bound here; a plan whose
    lead time includes the day of review meets (exceeds) its target."""
    rng = np.random.default_rng(22)
    n, n_days, d, lead = 40, 2500, 10.0, 3.0
    demand = _stationary(n, n_days, d, rng)
    p, inventory, _ = _planned(n, rng, 0, service="fill_rate", level=0.95, d=d)
    dtable = _demand_table(demand, p, day=True)
    back = simulate(p, dtable, inventory=inventory, lost_sales=False)
    r, q = p["reorder_point"].to_numpy(), p["lot_size"].to_numpy()
    h1 = _second_order_loss(r, d * (lead + 1), np.sqrt(d * (lead + 1)))
    h1q = _second_order_loss(r + q, d * (lead + 1), np.sqrt(d * (lead + 1)))
    h0 = _second_order_loss(r, d * lead, np.sqrt(d * lead))
    h0q = _second_order_loss(r + q, d * lead, np.sqrt(d * lead))
    exact = 1 - (h1 - h1q - h0 + h0q) / (q * d)
    served, demanded = back.metrics["served"].sum(), back.metrics["demand"].sum()
    assert served / demanded == pytest.approx(np.average(exact, weights=1 / q), abs=0.01)
    # Planned with the review day in the protection interval, the target is met.
    p1, inventory1, _ = _planned(n, rng, 0, service="fill_rate", level=0.95, d=d, lead=lead + 1)
    res = simulate(p1.assign(lead_time_mean=lead), dtable, inventory=inventory1, lost_sales=False)
    assert res.overall["fill_rate"] >= 0.95
    lost = simulate(p1.assign(lead_time_mean=lead), dtable, inventory=inventory1)
    assert lost.overall["fill_rate"] >= res.overall["fill_rate"] - 0.005


# --- outputs ------------------------------------------------------------------------------------


def test_daily_overall_and_plot(tmp_path):
    rng = np.random.default_rng(4)
    p, inventory, d = _planned(3, rng)
    demand = _demand_table(rng.poisson(d[:, None], size=(3, 40)).astype(float), p)
    both = compare(p, demand, inventory=inventory)
    daily = both.plan.daily([("sku1", "FC1")])
    assert list(daily.columns) == [
        "item_id",
        "location_id",
        "date",
        "demand",
        "served",
        "unmet",
        "on_hand",
        "on_order",
        "ordered",
        "received",
    ]
    assert len(daily) == 40 and (daily["item_id"] == "sku1").all()
    assert (daily["unmet"] == daily["demand"] - daily["served"]).all()
    m, o = both.plan.metrics, both.plan.overall
    assert o["fill_rate"] == pytest.approx(m["served"].sum() / m["demand"].sum())
    assert o["avg_on_hand"] == pytest.approx(m["avg_on_hand"].sum())
    assert o["stockout_days"] == m["stockout_days"].sum()
    assert list(both.summary.columns) == ["plan", "weeks_of_supply"]
    out = both.plot([("sku0", "FC1"), ("sku2", "FC1")], tmp_path / "figs" / "sim.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(x.name for x in out.parent.iterdir()) == ["sim.png"]
    with pytest.raises(ValueError, match=r"keys: not in the simulation at key \(sku9, FC1\)"):
        both.plot([("sku9", "FC1")], tmp_path / "x.png")


def test_no_module_level_import_of_matplotlib_or_torch():
    # kernels never imports torch; matplotlib is imported inside plot() only.
    for name in ("simulation.py", "_simulate.py"):
        tree = ast.parse((ROOT / "kernels" / name).read_text(encoding="utf-8"))
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        modules = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
        modules += [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
        assert not [m for m in modules if m.split(".")[0] in ("matplotlib", "torch")], name
    every = ast.walk(ast.parse((ROOT / "kernels" / "simulation.py").read_text(encoding="utf-8")))
    assert not any(isinstance(n, ast.Import) and n.names[0].name == "torch" for n in every)


def test_module_example_runs():
    tests = [t for t in doctest.DocTestFinder().find(sim) if t.examples]
    assert tests
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in tests:
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0 and result.failed == 0


# --- bad input ----------------------------------------------------------------------------------


def _good():
    table = pd.DataFrame(
        {
            "item_id": ["sku0", "sku1"],
            "location_id": "FC1",
            "review": ["continuous", "periodic"],
            "reorder_point": [20.0, 30.0],
            "order_up_to": [30.0, 30.0],
            "lot_size": [10.0, np.nan],
            "lead_time_mean": 2.0,
            "review_period": [0, 7],
        }
    )
    return table, _demand_table(np.full((2, 10), 3.0), table)


def _set(column, values):
    return lambda p, d: (p.assign(**{column: values}), d)


def _demand(change):
    return lambda p, d: (p, change(d))


K0, K1 = r"at key \(sku0, FC1\)", r"at key \(sku1, FC1\)"
BAD_INPUT = [
    (lambda p, d: (p.drop(columns="reorder_point"), d), r"plan: missing column\(s\) reorder_point"),
    (lambda p, d: (p.drop(columns="order_up_to"), d), r"plan: missing column\(s\) order_up_to"),
    (lambda p, d: (p.drop(columns=["review", "review_period"]), d), r"column\(s\) review \(or"),
    (lambda p, d: (p.drop(columns="review_period"), d), "periodic rows need a review_period"),
    (_demand(lambda d: d.drop(columns="demand")), r"demand: missing column\(s\) demand"),
    (_demand(lambda d: d.drop(columns="date")), r"demand: missing column\(s\) date"),
    (_demand(lambda d: d[d["item_id"] == "sku0"]), "demand: no demand for the plan row " + K1),
    (
        _demand(lambda d: d.assign(demand=np.where(d.index == 13, -1.0, d["demand"]))),
        "demand: negative demand " + K1,
    ),
    (
        _demand(lambda d: d.assign(demand=np.where(d.index == 2, "x", d["demand"]))),
        "demand: missing or non-numeric value " + K0,
    ),
    (_demand(lambda d: d.drop(index=4)), r"demand: missing date\(s\).* " + K0),
    (
        _demand(lambda d: d[~d["date"].isin(d["date"].iloc[[4]])]),
        "date: the demand's days must be consecutive",
    ),
    (_demand(lambda d: pd.concat([d, d.iloc[[15]]])), "demand: duplicate date rows " + K1),
    (_set("review", ["continuous", "weekly"]), "review: must be .* " + K1),
    (_set("review_period", [0, 2.5]), "review_period: .* " + K1),
    (_set("case_pack", [3.0, 1.0]), r"lot_size: an \(r, Q\) lot size .* " + K0),
    (_set("reorder_point", [np.nan, 1.0]), "reorder_point: missing or non-finite value " + K0),
    (_set("lead_time_mean", [2.0, np.nan]), "lead_time_mean: no lead time .* " + K1),
    (_set("on_hand", [1.0, -4.0]), "on_hand: negative value " + K1),
    (lambda p, d: (pd.concat([p, p.iloc[[0]]]), d), "plan: duplicate item_id/location_id rows"),
    (lambda p, d: (p.iloc[:0], d), "plan: no rows to simulate"),
]


@pytest.mark.parametrize("change,message", BAD_INPUT)
def test_bad_input_names_the_column_and_keys(change, message):
    table, demand = change(*_good())
    with pytest.raises(ValueError, match=message):
        simulate(table, demand)


def test_bad_arguments():
    table, demand = _good()
    with pytest.raises(ValueError, match="rule: expected 'plan', 'weeks_of_supply'"):
        simulate(table, demand, rule="sS")
    with pytest.raises(ValueError, match=r"on_hand: expected a number or 2 values"):
        simulate(table, demand, on_hand=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="start: .* after the demand's last date"):
        simulate(table, demand, start="2030-01-01")
    with pytest.raises(ValueError, match="WeeksOfSupply.window"):
        WeeksOfSupply(window=0)
    with pytest.raises(ValueError, match=r"inventory: no inventory row for the plan row at key"):
        simulate(table, demand, inventory=table.iloc[:1])
    # The weeks-of-supply rule needs a rate before day 0: here neither daily_demand nor demand_mean.
    with pytest.raises(ValueError, match=r"daily_demand: .* at keys \(sku0, FC1\), \(sku1, FC1\)"):
        simulate(table, demand, rule="weeks_of_supply")
    ok = simulate(table.assign(daily_demand=3.0), demand, rule="weeks_of_supply")
    assert ok.metrics["weeks"].notna().all()


# kernels.simulation: a key's lead-time draws come from the seed and the key, so its simulated
# metrics do not depend on the plan's row order, on which other keys it holds, or on which other
# keys have lead-time records (as the plan's sample-path lead times).


def _tables():
    keys = pd.DataFrame({"item_id": ["A", "B", "C"], "location_id": "FC1"})
    plan = keys.assign(
        review="continuous", reorder_point=20.0, lot_size=30.0, lead_time_mean=5.0,
        daily_demand=4.0, lead_time_std=2.0,
    )  # fmt: skip
    days = pd.date_range("2024-01-01", periods=60)
    rng = np.random.default_rng(1)
    demand = pd.DataFrame(
        [{"item_id": k, "location_id": "FC1", "date": d, "demand": float(rng.poisson(4))}
         for k in "ABC" for d in days]
    )  # fmt: skip
    return plan, demand


def _metrics(result):
    return result.metrics.set_index("item_id").sort_index()


def test_a_keys_simulation_does_not_depend_on_the_other_rows():
    plan, demand = _tables()
    full = _metrics(simulate(plan, demand, seed=0))
    reversed_rows = _metrics(simulate(plan.iloc[::-1].reset_index(drop=True), demand, seed=0))
    pd.testing.assert_frame_equal(full, reversed_rows)
    alone = _metrics(simulate(plan.iloc[[0]], demand[demand["item_id"] == "A"], seed=0))
    pd.testing.assert_frame_equal(full.loc[["A"]], alone)
    # Lead-time records for B change B only.
    records = pd.DataFrame({"item_id": "B", "location_id": "FC1", "lead_time_days": [3, 4, 9]})
    with_records = _metrics(simulate(plan, demand, records, seed=0))
    pd.testing.assert_frame_equal(full.loc[["A", "C"]], with_records.loc[["A", "C"]])


def test_the_seed_still_moves_the_draws_and_repeats():
    plan, demand = _tables()
    first = compare(plan, demand, seed=3).plan.metrics
    again = compare(plan, demand, seed=3).plan.metrics
    pd.testing.assert_frame_equal(first, again)
    other = [simulate(plan, demand, seed=s).metrics["fill_rate"].to_numpy() for s in range(4)]
    assert len({tuple(np.round(o, 9)) for o in other}) > 1


def test_a_shorter_simulation_is_the_start_of_a_longer_one():
    """An order placed on day t gets the same lead time whatever the number of days simulated,
    so the first days of a longer simulation are a shorter one's."""
    plan, demand = _tables()
    short_demand = demand[demand["date"] < pd.Timestamp("2024-01-31")]
    long = simulate(plan, demand, seed=0).daily()
    short = simulate(plan, short_demand, seed=0).daily()
    head = long[long["date"] < pd.Timestamp("2024-01-31")].reset_index(drop=True)
    pd.testing.assert_frame_equal(head, short.reset_index(drop=True))


def _keyed_tables(ids):
    forecast = pd.DataFrame(
        {"item_id": ids, "location_id": "FC1", "demand_mean": [10.0, 4.0], "demand_std": 3.0}
    )
    inventory = forecast[["item_id", "location_id"]].assign(on_hand=[30.0, 12.0])
    records = pd.DataFrame(
        {"item_id": np.repeat(ids, 4), "location_id": "FC1",
         "lead_time_days": [1.0, 9.0, 1.0, 9.0] * 2}
    )  # fmt: skip
    rng = np.random.default_rng(0)
    demand = pd.DataFrame(
        {"item_id": np.repeat(ids, 40), "location_id": "FC1", "day": np.tile(np.arange(40), 2),
         "demand": rng.poisson(np.repeat([10.0, 4.0], 40)).astype(float)}
    )  # fmt: skip
    p = plan(forecast, inventory, Policy(service_level=0.9), lead_times=records)
    return p, demand, records, inventory


def test_numeric_keys_bootstrap_their_records():
    p, demand, records, inventory = _keyed_tables([7, 8])
    setup = _prepare(p, demand, records, inventory, None, 0, True, None)
    assert set(np.unique(setup.lead)) <= {1, 9}


def test_numeric_and_text_keys_simulate_alike():
    by_number = simulate(*_keyed_tables([7, 8])[:3], inventory=_keyed_tables([7, 8])[3])
    by_text = simulate(*_keyed_tables(["7", "8"])[:3], inventory=_keyed_tables(["7", "8"])[3])
    cols = ["served", "stockout_days", "avg_on_hand", "orders", "units_received"]
    np.testing.assert_allclose(by_number.metrics[cols], by_text.metrics[cols])

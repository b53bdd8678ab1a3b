"""Allocation of scarce supply: feasibility, optimality (greedy and HiGHS LP), ties, reserve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernels import allocate, reference
from kernels.allocation import allocate_samples, unit_gain


@st.composite
def instances(draw, integer=True):
    n_fcs = draw(st.integers(1, 6))
    n_samples = draw(st.integers(1, 6))
    if integer:
        samples = draw(
            st.lists(st.integers(0, 12), min_size=n_fcs * n_samples, max_size=n_fcs * n_samples)
        )
        stock = draw(st.lists(st.integers(0, 4), min_size=n_fcs, max_size=n_fcs))
    else:
        samples = draw(
            st.lists(st.floats(0, 12), min_size=n_fcs * n_samples, max_size=n_fcs * n_samples)
        )
        stock = draw(st.lists(st.floats(0, 4), min_size=n_fcs, max_size=n_fcs))
    caps = draw(st.lists(st.integers(0, 15), min_size=n_fcs, max_size=n_fcs))
    prices = st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0])
    value = draw(st.lists(prices, min_size=n_fcs, max_size=n_fcs))
    supply = draw(st.integers(0, 40))
    return (
        np.array(samples, dtype=float).reshape(n_fcs, n_samples),
        np.array(stock, dtype=float),
        np.array(caps),
        np.array(value),
        supply,
    )


def _run(samples, stock, caps, value, supply, **kw):
    out = allocate_samples(
        samples[None], stock[None], [supply], caps=caps[None], value=value[None], **kw
    )
    return out["allocation"][0], out


def _units_worth_more_than(samples, stock, caps, value, threshold):
    return sum(
        sum(value[j] * unit_gain(samples[j], stock[j] + y) > threshold for y in range(caps[j]))
        for j in range(len(caps))
    )


@settings(max_examples=60, deadline=None)
@given(inst=instances(integer=True))
def test_allocation_is_feasible_and_matches_the_highs_lp_optimum(inst):
    samples, stock, caps, value, supply = inst
    x, out = _run(samples, stock, caps, value, supply)
    assert x.dtype == np.int64
    assert np.all(x >= 0) and np.all(x <= caps) and x.sum() <= supply
    # Every unit worth anything is sent while supply lasts.
    assert x.sum() == min(supply, _units_worth_more_than(samples, stock, caps, value, 0.0))
    assert out["held_back"][0] == supply - x.sum()
    obj = reference.allocation_objective(samples, stock, x, value)
    assert out["objective"][0] == pytest.approx(obj, rel=1e-12, abs=1e-12)
    lp, _, _ = reference.allocation_lp(samples, stock, supply, caps, value)
    # Integer samples and stock make the LP's optimum integral: the greedy attains it.
    assert obj == pytest.approx(lp, rel=1e-7, abs=1e-7)


@settings(max_examples=60, deadline=None)
@given(inst=instances(integer=False), reserve_value=st.sampled_from([0.0, 0.3, 1.2]))
def test_allocation_matches_the_greedy_optimum_on_continuous_demand(inst, reserve_value):
    samples, stock, caps, value, supply = inst
    x, out = _run(samples, stock, caps, value, supply, reserve_value=reserve_value)
    assert np.all(x >= 0) and np.all(x <= caps) and x.sum() <= supply
    g = reference.allocate_greedy(samples, stock, supply, caps, value, reserve_value)
    got = reference.allocation_objective(samples, stock, x, value) - reserve_value * x.sum()
    want = reference.allocation_objective(samples, stock, g, value) - reserve_value * g.sum()
    assert got == pytest.approx(want, rel=1e-12, abs=1e-12)
    # Optimality certificate: no unsent unit is worth more than the least valuable sent unit.
    sent = [value[j] * unit_gain(samples[j], stock[j] + x[j] - 1) for j in range(len(x)) if x[j]]
    unsent = [
        value[j] * unit_gain(samples[j], stock[j] + x[j]) for j in range(len(x)) if x[j] < caps[j]
    ]
    if sent and unsent and x.sum() == supply:
        assert min(sent) >= max(unsent) - 1e-12
    # The LP relaxation bounds every whole-unit allocation from above.
    lp, x_lp, _ = reference.allocation_lp(samples, stock, supply, caps, value, reserve_value)
    assert got <= lp - reserve_value * x_lp.sum() + 1e-7


def test_zero_supply_allocates_zero_and_reserve_is_held_back():
    rng = np.random.default_rng(0)
    samples = rng.poisson(5, size=(3, 4, 10)).astype(float)
    out = allocate_samples(samples, np.zeros((3, 4)), [0, 10, 10], reserve=[0, 10, 4])
    assert out["allocation"][0].sum() == 0 and out["allocation"][1].sum() == 0
    assert out["allocation"][2].sum() == 6
    np.testing.assert_array_equal(out["held_back"], [0, 10, 4])
    assert out["objective"][0] == 0.0


def test_exact_ties_are_spread_evenly_in_whole_units():
    # Four identical FCs whose every unit is worth exactly the same: 10 units -> 3, 3, 2, 2.
    samples = np.full((1, 4, 5), 100.0)
    out = allocate_samples(samples, np.zeros((1, 4)), [10])
    np.testing.assert_array_equal(out["allocation"][0], [3, 3, 2, 2])
    # Caps bind: the remaining tied units go where there is room.
    out = allocate_samples(samples, np.zeros((1, 4)), [10], caps=[[1, 9, 9, 0]])
    np.testing.assert_array_equal(out["allocation"][0], [1, 5, 4, 0])


def test_margin_weights_steer_supply_and_batches_are_independent():
    rng = np.random.default_rng(4)
    samples = rng.poisson(8, size=(200, 5, 30)).astype(np.float64)
    stock = rng.integers(0, 5, size=(200, 5)).astype(float)
    value = rng.choice([1.0, 2.5], size=(200, 5))
    supply = rng.integers(0, 60, size=200)
    caps = rng.integers(0, 20, size=(200, 5))
    batch = allocate_samples(samples, stock, supply, caps=caps, value=value)
    for k in range(0, 200, 37):
        single = allocate_samples(
            samples[k : k + 1],
            stock[k : k + 1],
            supply[k : k + 1],
            caps=caps[k : k + 1],
            value=value[k : k + 1],
        )
        np.testing.assert_array_equal(single["allocation"][0], batch["allocation"][k])
        g = reference.allocate_greedy(samples[k], stock[k], supply[k], caps[k], value[k])
        assert batch["objective"][k] == pytest.approx(
            reference.allocation_objective(samples[k], stock[k], g, value[k]), rel=1e-10
        )


def test_allocation_errors_name_field_and_rows():
    s = np.ones((2, 3, 4))
    with pytest.raises(ValueError, match=r"supply: must be a whole number of units at row 1"):
        allocate_samples(s, np.zeros((2, 3)), [3, 2.5])
    # A negative stock is a position net of backorders (accepted); a missing one is not.
    with pytest.raises(ValueError, match=r"stock: missing or non-finite value at row 0"):
        allocate_samples(s, [[np.nan, 0, 0], [0, 0, 0]], [1, 1])
    with pytest.raises(ValueError, match=r"caps: shape \(2,\) does not match"):
        allocate_samples(s, np.zeros((2, 3)), [1, 1], caps=[1, 2])
    bad = s.copy()
    bad[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match=r"samples: missing or non-finite value at row 1"):
        allocate_samples(bad, np.zeros((2, 3)), [1, 1])


def _tables():
    demand = pd.DataFrame(
        {
            "item_id": ["sku1"] * 6 + [np.nan] * 3,
            "location_id": ["FC1"] * 3 + ["FC2"] * 3 + ["FC1"] * 3,
            "sample": [0, 1, 2] * 3,
            "demand": [8.0, 10.0, 12.0, 2.0, 3.0, 4.0, 100.0, 100.0, 100.0],
        }
    )
    stock = pd.DataFrame(
        {"item_id": ["sku1", "sku1", np.nan], "location_id": ["FC1", "FC2", "FC1"],
         "on_hand": [0.0, 1.0, 0.0]}
    )  # fmt: skip
    supply = pd.DataFrame({"item_id": ["sku1"], "supply": [10]})
    return demand, stock, supply


def test_stock_row_without_item_is_refused():
    demand, stock, supply = _tables()
    with pytest.raises(ValueError, match="missing item_id or location_id"):
        allocate(demand, stock, supply)


def test_valid_rows_unchanged():
    demand, stock, supply = _tables()
    out = allocate(demand.iloc[:6], stock.iloc[:2], supply)
    assert out["allocation"].sum() <= 10
    # FC1 demand 8/10/12 with 9 units: E[min(D, 9)] = (8 + 9 + 9) / 3
    assert out["expected_sales"].iloc[0] == pytest.approx(26 / 3)


STOCK = pd.DataFrame({"item_id": "sku1", "location_id": ["FC1", "FC2"], "on_hand": [0.0, 0.0]})
SUPPLY = pd.DataFrame({"item_id": ["sku1"], "supply": [10]})


def _demand():
    rows = [
        ("sku1", loc, sample, step, per_step)
        for loc, per_step in (("FC1", 3.0), ("FC2", 2.0))
        for sample in (0, 1)
        for step in (1, 2)
    ]
    return pd.DataFrame(rows, columns=["item_id", "location_id", "sample", "step", "demand"])


def test_complete_steps_are_summed():
    out = allocate(_demand(), STOCK, SUPPLY)
    assert out["allocation"].tolist() == [6, 4]
    assert out["expected_sales"].tolist() == [6.0, 4.0]


def test_duplicate_step_is_refused():
    d = _demand()
    dup = pd.concat([d, d[(d["location_id"] == "FC2") & (d["step"] == 1)]])
    with pytest.raises(ValueError, match="duplicate"):
        allocate(dup, STOCK, SUPPLY)


def test_missing_step_is_refused():
    d = _demand()
    missing = d[~((d["location_id"] == "FC1") & (d["step"] == 2))]
    with pytest.raises(ValueError, match="FC1"):
        allocate(missing, STOCK, SUPPLY)


def test_keys_outside_stock_may_have_other_steps():
    d = _demand()
    other = pd.DataFrame(
        {"item_id": "sku9", "location_id": "FC1", "sample": [0, 1], "step": 5, "demand": 1.0}
    )
    out = allocate(pd.concat([d, other]), STOCK, SUPPLY)
    assert out["allocation"].tolist() == [6, 4]

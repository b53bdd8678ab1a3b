"""What reaches the allocation kernels: per-step demand checked before it is summed, reserves
that are numbers, and demands past the int64 range allocated as the greedy reference does."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from kernels import allocate, reference
from kernels.allocation import allocate_samples


def _tables1(step_demand):
    demand = pd.DataFrame(
        {
            "item_id": "a",
            "location_id": ["F1"] * 4 + ["F2"] * 4,
            "sample": [0, 0, 1, 1] * 2,
            "step": [1, 2] * 4,
            "demand": step_demand,
        }
    )
    stock = pd.DataFrame({"item_id": "a", "location_id": ["F1", "F2"], "on_hand": 0.0})
    supply = pd.DataFrame({"item_id": ["a"], "supply": [8]})
    return demand, stock, supply


@pytest.mark.parametrize(
    "step_demand",
    [
        [5.0, np.nan, 5.0, np.nan, 3.0, 3.0, 3.0, 3.0],  # a missing step read as 0
        [5.0, -5.0, 5.0, -5.0, 3.0, 3.0, 3.0, 3.0],  # a negative step cancelled the other
    ],
)
def test_allocate_refuses_a_bad_step_as_it_refuses_a_bad_sample(step_demand):
    demand, stock, supply = _tables1(step_demand)
    with pytest.raises(
        ValueError, match=r"demand: missing, non-numeric or negative demand at key \(a, F1\)"
    ):
        allocate(demand, stock, supply)
    # The same rows without the step column were already refused.
    no_step = demand.drop(columns="step").assign(sample=[0, 1, 2, 3] * 2)
    with pytest.raises(ValueError, match=r"demand: missing, non-numeric or negative demand"):
        allocate(no_step, stock, supply)


def test_allocate_sums_numeric_text_steps_as_numbers():
    # "5" and "1" are 6 units, not the 51 that pandas' sum of strings gave ("3" + "3": 33).
    demand, stock, supply = _tables1(["5", "1", "5", "1", "3", "3", "3", "3"])
    out = allocate(demand, stock, supply.assign(supply=20))
    assert out["allocation"].tolist() == [6, 6]
    assert out["expected_sales"].tolist() == [6.0, 6.0]


def _tables2():
    demand = pd.DataFrame(
        {
            "item_id": "a",
            "location_id": ["F1"] * 2 + ["F2"] * 2,
            "sample": [0, 1] * 2,
            "demand": [10.0, 10.0, 10.0, 10.0],
        }
    )
    stock = pd.DataFrame({"item_id": "a", "location_id": ["F1", "F2"], "on_hand": 0.0})
    return demand, stock


@pytest.mark.parametrize("column", ["reserve", "reserve_value"])
def test_allocate_refuses_a_reserve_that_is_not_a_number(column):
    demand, stock = _tables2()
    supply = pd.DataFrame({"item_id": ["a"], "supply": [8], column: ["3 units"]})
    with pytest.raises(ValueError, match=rf"{column}: not a number at key a"):
        allocate(demand, stock, supply)


def test_allocate_reads_a_blank_reserve_as_none_and_holds_back_a_numeric_one():
    demand, stock = _tables2()
    blank = pd.DataFrame({"item_id": ["a"], "supply": [8], "reserve": [np.nan]})
    assert allocate(demand, stock, blank)["allocation"].sum() == 8
    text = pd.DataFrame({"item_id": ["a"], "supply": [8], "reserve": ["3"]})
    assert allocate(demand, stock, text)["allocation"].sum() == 5
    with pytest.raises(ValueError, match="reserve"):
        allocate(demand, stock, blank.assign(reserve=np.inf))


@pytest.mark.parametrize("big", [1e15, 1e19, 1e30])
def test_allocation_with_demand_beyond_int64_matches_the_greedy(big):
    samples = np.array([[[big, big], [1.0, 1.0]]])
    stock = np.zeros((1, 2))
    out = allocate_samples(samples, stock, [5])
    # Every unit is worth 1 at either FC: the tie is spread evenly, as with small demand.
    assert out["allocation"][0].tolist() == [4, 1]
    assert out["held_back"][0] == 0
    want = reference.allocate_greedy(samples[0], stock[0], 5, [5, 5], [1.0, 1.0])
    value = np.ones(2)
    assert reference.allocation_objective(samples[0], stock[0], out["allocation"][0], value) == (
        reference.allocation_objective(samples[0], stock[0], want, value)
    )


def test_allocation_with_stock_beyond_int64_sends_nothing_there():
    samples = np.array([[[3.0, 3.0], [1.0, 1.0]]])
    out = allocate_samples(samples, np.array([[1e30, 0.0]]), [5])
    assert out["allocation"][0].tolist() == [0, 1]


# A unit worth exactly the reserve value stays at the DC (the rule is "above", strictly).
#
# With integer demand samples a unit's marginal value is an exact fraction k / n. The CPU kernel's
# fast-math flags let the mean be computed as k * (1 / n), which rounds 3 / 5 up to
# 0.6000000000000001, so units worth exactly 0.6 were sent against a reserve value of 0.6 (and the
# CUDA kernel, compiled without fast-math, kept them).
@pytest.mark.parametrize("n_samples", [3, 5, 7, 10, 49])
def test_units_worth_exactly_the_reserve_value_stay_at_the_dc(n_samples):
    rng = np.random.default_rng(n_samples)
    for _ in range(20):
        samples = rng.integers(0, 6, size=(1, 3, n_samples)).astype(float)
        stock = rng.integers(0, 3, size=(1, 3)).astype(float)
        k = int(rng.integers(1, n_samples))
        reserve_value = k / n_samples
        res = allocate_samples(samples, stock, [20], reserve_value=[reserve_value])
        want = reference.allocate_greedy(samples[0], stock[0], 20, [20] * 3, np.ones(3),
                                         reserve_value)  # fmt: skip
        np.testing.assert_array_equal(res["allocation"][0], want)


def test_reserve_value_tie_example():
    samples = np.array([[[4.0, 5.0, 4.0, 2.0, 0.0]]])  # units 1 and 2 above stock sell 3 in 5
    res = allocate_samples(samples, [[2.0]], [10], reserve_value=[0.6])
    assert res["allocation"].tolist() == [[0]]
    assert res["held_back"].tolist() == [10]
    res = allocate_samples(samples, [[2.0]], [10], reserve_value=[0.59])
    assert res["allocation"].tolist() == [[2]]


# A supply of 2**63 units or more: the int64 budget wrapped negative and nothing was allocated.
INT64_SAMPLES = np.array([[[3.0, 5.0, 4.0], [1.0, 2.0, 0.0]]])


def test_large_supply_below_int64_range_allocates_every_useful_unit():
    out = allocate_samples(INT64_SAMPLES, 0, [2**62])
    np.testing.assert_array_equal(out["allocation"], [[5, 2]])
    assert out["held_back"][0] == 2**62 - 7


@pytest.mark.parametrize("supply", [2**63, 1e19])
def test_supply_beyond_int64_is_refused_not_allocated_as_zero(supply):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the cast that wrapped
        with pytest.raises(ValueError, match=r"supply: .*2\*\*63.* at row 0"):
            allocate_samples(INT64_SAMPLES, 0, [supply])


def test_allocate_table_refuses_supply_beyond_int64_by_item():
    demand = pd.DataFrame(
        {
            "item_id": "sku1",
            "location_id": ["FC1"] * 3 + ["FC2"] * 3,
            "sample": [0, 1, 2] * 2,
            "demand": [3.0, 5.0, 4.0, 1.0, 2.0, 0.0],
        }
    )
    stock = pd.DataFrame({"item_id": "sku1", "location_id": ["FC1", "FC2"], "on_hand": 0})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(ValueError, match=r"supply: .*2\*\*63.*sku1"):
            allocate(demand, stock, pd.DataFrame({"item_id": ["sku1"], "supply": [1e19]}))

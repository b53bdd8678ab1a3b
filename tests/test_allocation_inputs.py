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


# Errors name the key or item the user must fix. allocate() runs items in groups of similar FC
# counts, and the kernels named a position in a group's own array: a fractional cap on the sixth
# stock row was "caps: ... at row 2", any item's bad reserve "at row 0".
def _three_items():
    keys = [("a", "F1"), ("b", "F1"), ("b", "F2"), ("c", "F1"), ("c", "F2"), ("c", "F3")]
    stock = pd.DataFrame(keys, columns=["item_id", "location_id"]).assign(on_hand=0.0, cap=3.0)
    demand = stock[["item_id", "location_id"]].loc[stock.index.repeat(2)].reset_index(drop=True)
    demand = demand.assign(sample=[0, 1] * 6, demand=5.0)
    supply = pd.DataFrame({"item_id": ["a", "b", "c"], "supply": [4, 4, 4], "reserve": 0.0})
    return demand, stock, supply


def test_allocate_names_the_key_of_a_fractional_cap():
    demand, stock, supply = _three_items()
    stock.loc[5, "cap"] = 1.5
    with pytest.raises(
        ValueError, match=r"^cap: must be a whole number of units at key \(c, F3\)$"
    ):
        allocate(demand, stock, supply)


@pytest.mark.parametrize(
    "column, value, problem",
    [
        ("reserve", 0.5, "must be a whole number of units"),
        ("reserve", -1.0, "negative value"),
        ("reserve", np.inf, "missing or non-finite value"),
        ("reserve_value", -0.5, "negative value"),
    ],
)
@pytest.mark.parametrize("item", ["b", "c"])
def test_allocate_names_the_item_of_a_bad_reserve(column, value, problem, item):
    demand, stock, supply = _three_items()
    supply[column] = 0.0
    supply.loc[supply["item_id"] == item, column] = value
    with pytest.raises(ValueError, match=rf"^{column}: {problem} at key {item}$"):
        allocate(demand, stock, supply)


def test_kernel_names_the_sku_row_of_a_fractional_cap():
    # Two SKUs: the second SKU's second FC is row 1, not the mask's flat position 3.
    with pytest.raises(ValueError, match=r"^caps: must be a whole number of units at row 1$"):
        allocate_samples(np.ones((2, 2, 3)), np.zeros((2, 2)), [3, 3], caps=[[1, 1], [1, 1.5]])


def _steps_with_a_blank_sample_id():
    # Per-sample totals: F1 sells 1, 1 or 9; F2 always 2. The third sample's id is blank.
    rows = [
        ("a", loc, sample, step, total / 2)
        for loc, totals in (("F1", [1.0, 1.0, 9.0]), ("F2", [2.0, 2.0, 2.0]))
        for sample, total in zip([0, 1, np.nan], totals, strict=True)
        for step in (1, 2)
    ]
    return pd.DataFrame(rows, columns=["item_id", "location_id", "sample", "step", "demand"])


def test_a_sample_with_a_blank_id_is_kept_when_steps_are_summed():
    # By hand, 6 units: F2's 2 units and F1's first each sell surely (worth 1); F1's units 2 to 9
    # sell only in the third sample (1/3 each), so the last 3 go there: F1 4, F2 2, and F1 sells
    # E[min(D, 4)] = (1 + 1 + 4) / 3 = 2. groupby dropped the blank sample's rows, and F1 got 1.
    demand = _steps_with_a_blank_sample_id()
    stock = pd.DataFrame({"item_id": "a", "location_id": ["F1", "F2"], "on_hand": 0.0})
    supply = pd.DataFrame({"item_id": ["a"], "supply": [6]})
    out = allocate(demand, stock, supply)
    assert out["allocation"].tolist() == [4, 2]
    assert out["expected_sales"].tolist() == pytest.approx([2.0, 2.0])
    # The same samples without a step column: the blank id was already a sample there.
    totals = demand.groupby(["item_id", "location_id", "sample"], dropna=False, as_index=False)
    pd.testing.assert_frame_equal(allocate(totals["demand"].sum(), stock, supply), out)


def test_two_blank_sample_ids_with_steps_are_duplicates():
    demand = _steps_with_a_blank_sample_id()
    demand.loc[demand["sample"] == 1, "sample"] = np.nan
    stock = pd.DataFrame({"item_id": "a", "location_id": ["F1", "F2"], "on_hand": 0.0})
    with pytest.raises(ValueError, match="duplicate"):
        allocate(demand, stock, pd.DataFrame({"item_id": ["a"], "supply": [6]}))

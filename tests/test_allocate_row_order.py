"""allocate() does not depend on the order of the stock table's rows. The kernel spreads an
exact tie's last units lower FC index first, and the FC index was the row's place in the stock
table, so a shuffled table sent a tied unit to another FC; integer demand samples tie often."""

from __future__ import annotations

import numpy as np
import pandas as pd

from kernels import allocate


def _by_key(out: pd.DataFrame) -> pd.DataFrame:
    return out.sort_values(["item_id", "location_id"]).reset_index(drop=True)


def test_a_tied_unit_goes_to_the_same_fc_whatever_the_row_order():
    # Every unit is worth 1 at both FCs (demand 5 in every sample): 3 units tie, 2 + 1.
    demand = pd.DataFrame(
        {"item_id": "i", "location_id": ["FC1", "FC1", "FC2", "FC2"], "sample": [0, 1] * 2,
         "demand": 5.0}
    )  # fmt: skip
    stock = pd.DataFrame({"item_id": "i", "location_id": ["FC1", "FC2"], "on_hand": 0.0})
    supply = pd.DataFrame({"item_id": ["i"], "supply": [3]})
    forward = _by_key(allocate(demand, stock, supply))
    backward = _by_key(allocate(demand, stock.iloc[::-1], supply))
    np.testing.assert_array_equal(forward["allocation"], backward["allocation"])
    assert forward["allocation"].sum() == 3


def test_poisson_samples_reversed_stock_rows():
    stock = pd.DataFrame(
        {"item_id": ["b"] * 3 + ["a10"] * 3, "location_id": ["FC1", "FC2", "FC3"] * 2,
         "on_hand": [2.0, 0, 5, 1, 3, 0]}
    )  # fmt: skip
    supply = pd.DataFrame({"item_id": ["b", "a10"], "supply": [17, 23]})
    for seed in range(8):
        rng = np.random.default_rng(seed)
        demand = pd.DataFrame(
            [(i, loc, s, d) for i in ("b", "a10") for loc in ("FC1", "FC2", "FC3")
             for s, d in enumerate(rng.poisson(10 + 5 * (loc == "FC2"), 40))],
            columns=["item_id", "location_id", "sample", "demand"],
        )  # fmt: skip
        ref = _by_key(allocate(demand, stock, supply))
        out = _by_key(allocate(demand, stock.iloc[::-1], supply))
        pd.testing.assert_frame_equal(out, ref)

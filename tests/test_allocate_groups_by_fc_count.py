"""allocate() pads every item to the most FCs any item is stocked at: one item at many FCs
made the kernel's (items x FCs x samples) array, and its time, grow with items x that count."""

import numpy as np
import pandas as pd

import kernels.tables as tables
from kernels.tables import allocate


def _tables(seed=0, n_small=30, wide=40, n_samples=25):
    rng = np.random.default_rng(seed)
    rows = [(f"I{i}", f"L{j}") for i in range(n_small) for j in range(1 + i % 3)]
    rows += [("WIDE", f"L{j}") for j in range(wide)]
    stock = pd.DataFrame(rows, columns=["item_id", "location_id"])
    stock["on_hand"] = rng.integers(0, 3, len(stock)).astype(float)
    stock["cap"] = rng.integers(1, 6, len(stock)).astype(float)
    demand = stock[["item_id", "location_id"]].loc[stock.index.repeat(n_samples)]
    demand = demand.reset_index(drop=True)
    demand["sample"] = np.tile(np.arange(n_samples), len(stock))
    demand["demand"] = rng.gamma(2.0, 2.0, len(demand))  # continuous: no tied unit values
    items = stock["item_id"].unique()
    supply = pd.DataFrame({"item_id": items, "supply": rng.integers(0, 12, len(items)) * 1.0})
    return demand, stock, supply


def _greedy(demand, stock, supply):
    """Brute force: send one unit at a time to the FC whose next unit sells most."""
    out = {}
    for item, rows in stock.groupby("item_id", sort=False):
        budget = int(supply.set_index("item_id").loc[item, "supply"])
        d = [
            demand[(demand.item_id == item) & (demand.location_id == loc)]["demand"].to_numpy()
            for loc in rows.location_id
        ]
        x = np.zeros(len(rows), dtype=int)
        for _ in range(budget):
            gain = [
                np.clip(d[j] - rows.on_hand.iat[j] - x[j], 0, 1).mean()
                if x[j] < rows.cap.iat[j]
                else -1.0
                for j in range(len(rows))
            ]
            best = int(np.argmax(gain))
            if gain[best] <= 0:
                break
            x[best] += 1
        out.update({(item, loc): int(v) for loc, v in zip(rows.location_id, x, strict=True)})
    return out


def test_allocation_matches_brute_force():
    demand, stock, supply = _tables()
    got = allocate(demand, stock, supply)
    want = _greedy(demand, stock, supply)
    assert [want[k] for k in zip(got.item_id, got.location_id, strict=True)] == list(
        got["allocation"]
    )
    # expected sales E[min(D, on_hand + allocation)] per row
    for row in got.itertuples(index=False):
        d = demand[(demand.item_id == row.item_id) & (demand.location_id == row.location_id)]
        on_hand = stock.set_index(["item_id", "location_id"]).loc[
            (row.item_id, row.location_id), "on_hand"
        ]
        assert np.isclose(
            row.expected_sales, np.minimum(d["demand"], on_hand + row.allocation).mean()
        )


def test_kernel_work_follows_the_stock_rows_not_the_widest_item(monkeypatch):
    demand, stock, supply = _tables(n_small=200, wide=64, n_samples=10)
    plain = allocate(demand, stock, supply)
    sizes = []
    kernel = tables.allocate_samples

    def counted(samples, *args, **kwargs):
        sizes.append(np.asarray(samples).size)
        return kernel(samples, *args, **kwargs)

    monkeypatch.setattr(tables, "allocate_samples", counted)
    again = allocate(demand, stock, supply)
    pd.testing.assert_frame_equal(plain, again)
    # at most twice the (stock rows x samples) the demand table holds; padding every one of the
    # 201 items to the wide item's 64 FCs was 201 x 64 x 10 = 128,640 cells for 464 rows.
    assert sum(sizes) <= 2 * len(stock) * 10


def test_service_admits_an_allocation_whose_rows_are_few():
    from serving.service.app import _check_allocation

    # 5,000 items at one FC and one item at 5,000 FCs, 2 samples each: 20,000 demand rows,
    # which the old padding made 5,001 x 5,000 x 2 = 50 million cells (a 413).
    keys = [(f"i{j}", "F0") for j in range(5000)] + [("BIG", f"F{j}") for j in range(5000)]
    stock = pd.DataFrame(keys, columns=["item_id", "location_id"]).assign(on_hand=0.0)
    demand = stock[["item_id", "location_id"]].loc[stock.index.repeat(2)].reset_index(drop=True)
    demand["sample"] = np.tile([0, 1], len(stock))
    demand["demand"] = 1.0
    _check_allocation(demand, stock)  # no HTTPException

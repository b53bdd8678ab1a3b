"""allocate() reads on_order and backorders as plan() does: a location starts the period at its
inventory position on_hand + on_order - backorders, which may be negative. Both columns were
unread, so an FC owing 10 backorders and one with 10 units inbound split a scarce 10 units 5/5."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from kernels import allocate, reference
from kernels.allocation import allocate_samples


def _two_fcs(**stock_columns):
    demand = pd.DataFrame(
        {"item_id": "i", "location_id": ["A", "A", "B", "B"], "sample": [0, 1] * 2,
         "demand": 10.0}
    )  # fmt: skip
    stock = pd.DataFrame({"item_id": "i", "location_id": ["A", "B"], "on_hand": 0.0})
    return demand, stock.assign(**stock_columns), pd.DataFrame({"item_id": ["i"], "supply": [10]})


def test_backorders_and_on_order_steer_the_supply():
    demand, stock, supply = _two_fcs(backorders=[10.0, 0.0], on_order=[0.0, 10.0])
    out = allocate(demand, stock, supply)
    # A owes 10 and faces 10 more: each unit sent is sold; B's 10 inbound cover its demand.
    np.testing.assert_array_equal(out["allocation"], [10, 0])
    # Units shipped, backorders filled included: E[min(D + backorders, on_hand + on_order + x)].
    np.testing.assert_array_equal(out["expected_sales"], [10.0, 10.0])


def test_expected_sales_counts_the_backorders_filled():
    demand, stock, supply = _two_fcs(on_hand=[3.0, 10.0], backorders=[5.0, 0.0])
    out = allocate(demand, stock, supply)
    # A's position is -2: each of its first 12 units is sold, so it takes all 10 (not the 7 that
    # on_hand alone leaves room for); it ships 13 of the 15 it owes and faces (the kernels'
    # E[min(D, position + x)] is 8 here). B's on_hand covers its demand.
    np.testing.assert_array_equal(out["allocation"], [10, 0])
    np.testing.assert_array_equal(out["expected_sales"], [13.0, 10.0])
    margin = allocate(demand, stock.assign(margin=2.0), supply, objective="margin")
    np.testing.assert_array_equal(margin["expected_margin"], [26.0, 20.0])


def test_allocation_matches_brute_force_with_negative_positions():
    rng = np.random.default_rng(7)
    for _ in range(40):
        n, s = int(rng.integers(2, 4)), int(rng.integers(1, 5))
        d = rng.integers(0, 9, (n, s)).astype(float)
        oh = rng.integers(0, 5, n).astype(float)
        oo = rng.integers(0, 4, n).astype(float) * (rng.random(n) < 0.5)
        bo = rng.integers(0, 10, n).astype(float) * (rng.random(n) < 0.7)
        pos = oh + oo - bo
        supply = int(rng.integers(0, 13))
        caps = np.where(rng.random(n) < 0.3, rng.integers(0, 8, n), supply)
        margin = rng.choice([0.5, 1.0, 3.0], n)
        splits = itertools.product(*[range(min(int(c), supply) + 1) for c in caps])
        best = max(
            float(margin @ np.minimum(d, (pos + np.array(x))[:, None]).mean(axis=1))
            for x in splits
            if sum(x) <= supply
        )
        keys = [f"F{j}" for j in range(n)]
        demand = pd.DataFrame(
            {"item_id": "i", "location_id": np.repeat(keys, s), "sample": np.tile(np.arange(s), n),
             "demand": d.ravel()}
        )  # fmt: skip
        stock = pd.DataFrame({"item_id": "i", "location_id": keys, "on_hand": oh,
                              "on_order": oo, "backorders": bo, "cap": caps.astype(float),
                              "margin": margin})  # fmt: skip
        out = allocate(demand, stock, pd.DataFrame({"item_id": ["i"], "supply": [supply]}),
                       objective="margin")  # fmt: skip
        x = out["allocation"].to_numpy()
        assert (x <= caps).all() and x.sum() <= supply
        got = float(margin @ np.minimum(d, (pos + x)[:, None]).mean(axis=1))
        assert got == pytest.approx(best, abs=1e-12)
        shipped = np.minimum(d + bo[:, None], (oh + oo + x)[:, None]).mean(axis=1)
        np.testing.assert_allclose(out["expected_sales"], shipped, atol=1e-12)
        # The HiGHS LP reference (whose sales may now be negative) reaches the same optimum.
        lp, _, _ = reference.allocation_lp(d, pos, supply, caps, margin)
        assert lp == pytest.approx(best, abs=1e-7)


def test_kernel_takes_a_negative_stock():
    samples = np.array([[[0.0, 4.0]]])
    out = allocate_samples(samples, [[-3.0]], [10])
    # Units 1-3 fill the backorders (each sold), unit 4 sells half the time, 5-7 likewise.
    assert out["allocation"][0, 0] == 7
    assert out["expected_sales"][0, 0] == pytest.approx(2.0)  # E[min(D, -3 + 7)]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("backorders", -1.0, r"backorders: negative value at key \(i, A\)"),
        ("on_order", -2.0, r"on_order: negative value at key \(i, A\)"),
        ("on_order", "x", r"on_order: not a number at key \(i, A\)"),
        ("backorders", np.nan, r"backorders: missing or non-finite value at key \(i, A\)"),
        ("on_order", np.inf, r"on_order: missing or non-finite value at key \(i, A\)"),
    ],
)
def test_position_columns_are_checked_and_named(column, value, message):
    demand, stock, supply = _two_fcs()
    stock[column] = pd.Series([value, 0.0], dtype=object if isinstance(value, str) else None)
    with pytest.raises(ValueError, match=message):
        allocate(demand, stock, supply)


def test_position_column_spelled_otherwise_is_refused():
    demand, stock, supply = _two_fcs(**{"Backorders ": [10.0, 0.0]})
    with pytest.raises(ValueError, match=r"column 'Backorders ' is spelled like 'backorders'"):
        allocate(demand, stock, supply)


def test_the_plan_endpoint_allocates_by_position(tmp_path):
    from fastapi.testclient import TestClient

    from serving.service.app import create_app
    from serving.service.config import ServiceConfig

    keys = {"item_id": "i"}
    stock = [
        {**keys, "location_id": "A", "on_hand": 0.0, "on_order": 0.0, "backorders": 10.0},
        {**keys, "location_id": "B", "on_hand": 0.0, "on_order": 10.0, "backorders": 0.0},
    ]
    body = {
        "forecast": [{**keys, "location_id": f, "demand_mean": 10.0, "demand_std": 3.0}
                     for f in "AB"],
        "inventory": [{**keys, "location_id": f, "on_hand": 0.0, "lead_time_mean": 2.0}
                      for f in "AB"],
        "allocation": {
            "demand": [{**keys, "location_id": f, "sample": k, "demand": 10.0}
                       for f in "AB" for k in (0, 1)],
            "stock": stock,
            "supply": [{**keys, "supply": 10}],
        },
    }  # fmt: skip
    (tmp_path / "repo").mkdir()
    with TestClient(create_app(tmp_path / "repo", ServiceConfig(reload_s=60))) as client:
        answer = client.post("/v1/plan", json=body)
        assert answer.status_code == 200, answer.text
        assert [r["allocation"] for r in answer.json()["allocation"]] == [10, 0]
        stock[0]["backorders"] = -1.0
        answer = client.post("/v1/plan", json=body)
        assert answer.status_code == 422
        assert "backorders: negative value at key (i, A)" in answer.json()["detail"]

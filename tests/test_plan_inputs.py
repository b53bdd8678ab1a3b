"""Tables that reach the planning kernels: forecast steps longer than a day, keys read with
other dtypes, numeric segments, text settings, and the demo's demand draws."""

from __future__ import annotations

import math
import types

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import serving.demo.plan as demo_plan
from kernels import Policy, plan
from serving.cli import main

LEVELS = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
QCOLS = [f"q{lv}" for lv in LEVELS]


def _steps_cumulative(step_days, horizons, d=10.0, sd=3.0):
    # iid daily demand N(d, sd^2): a step of k days sums k of them
    rows = []
    for h in range(1, horizons + 1):
        t = h * step_days
        rows.append(["sku0", "FC1", h, *stats.norm.ppf(LEVELS, d * t, sd * math.sqrt(t))])
    return pd.DataFrame(rows, columns=["item_id", "location_id", "horizon", *QCOLS])


def _paths(step_days, rng, n_paths=4000, steps=8, d=10.0, sd=3.0):
    demand = rng.normal(d * step_days, sd * math.sqrt(step_days), size=(n_paths, steps)).clip(0)
    return pd.DataFrame(
        {
            "item_id": "sku0",
            "location_id": "FC1",
            "sample": np.repeat(np.arange(n_paths), steps),
            "step": np.tile(np.arange(1, steps + 1), n_paths),
            "demand": demand.ravel(),
        }
    )


def test_a_weekly_forecast_plans_lead_times_given_in_days():
    inventory = pd.DataFrame(
        {"item_id": ["sku0"], "location_id": ["FC1"], "on_hand": [0.0],
         "lead_time_mean": [14.0], "review_period": [0.0], "lot_size": [1.0]}
    )  # fmt: skip
    expected = stats.norm.ppf(0.95, 10.0 * 14, 3.0 * math.sqrt(14))  # 14 days of demand
    daily = plan(_steps_cumulative(1, 28), inventory)
    weekly = plan(_steps_cumulative(7, 8), inventory, Policy(step_days=7.0))
    np.testing.assert_allclose(daily["reorder_point"], expected, rtol=1e-9)
    np.testing.assert_allclose(weekly["reorder_point"], expected, rtol=1e-9)
    parametric = pd.DataFrame(
        {"item_id": ["sku0"], "location_id": ["FC1"], "demand_mean": [70.0],
         "demand_std": [3.0 * math.sqrt(7)]}
    )  # fmt: skip
    weekly = plan(parametric, inventory, Policy(step_days=7.0))
    np.testing.assert_allclose(weekly["reorder_point"], expected, rtol=1e-9)
    paths = plan(_paths(7, np.random.default_rng(0)), inventory, Policy(step_days=7.0))
    np.testing.assert_allclose(paths["reorder_point"], expected, rtol=0.02)
    # the lead time is reported in the inventory's days
    assert weekly["lead_time_mean"].iloc[0] == 14.0


def test_a_weekly_review_of_a_weekly_forecast_is_one_step():
    inventory = pd.DataFrame(
        {"item_id": ["sku0"], "location_id": ["FC1"], "on_hand": [0.0],
         "lead_time_mean": [7.0], "review_period": [7.0]}
    )  # fmt: skip
    expected = stats.norm.ppf(0.95, 10.0 * 14, 3.0 * math.sqrt(14))
    weekly = plan(_steps_cumulative(7, 8), inventory, Policy(step_days=7.0))
    np.testing.assert_allclose(weekly["reorder_point"], expected, rtol=1e-9)
    # default lot of continuous rows: default_cycle_days (7) of demand, not 7 weeks
    inventory = inventory.assign(review_period=0.0)
    weekly = plan(_steps_cumulative(7, 8), inventory, Policy(step_days=7.0))
    assert weekly["lot_size"].iloc[0] == 70.0


KEY_LEVELS = [0.05, 0.25, 0.5, 0.75, 0.95]


def _keyed_cumulative(items, locations, horizons=30, d=10.0, sd=3.0):
    rows = []
    for item, loc in zip(items, locations, strict=True):
        for h in range(1, horizons + 1):
            rows.append([item, loc, h, *stats.norm.ppf(KEY_LEVELS, d * h, sd * math.sqrt(h))])
    return pd.DataFrame(rows, columns=["item_id", "location_id", "horizon",
                                       *[f"q{lv}" for lv in KEY_LEVELS]])  # fmt: skip


def test_numeric_lead_time_records_apply_to_text_keyed_inventory():
    # `forecast predict` writes text keys; a lead-time CSV read back has numbers
    forecast = _keyed_cumulative(["7", "8"], ["3", "3"])
    inventory = pd.DataFrame(
        {
            "item_id": ["7", "8"],
            "location_id": ["3", "3"],
            "on_hand": 0.0,
            "lead_time_mean": 4.0,
            "lead_time_std": 0.0,
        }
    )
    records = pd.DataFrame({"item_id": [7] * 5, "location_id": [3] * 5,
                            "lead_time_days": [10.0, 12.0, 14.0, 9.0, 11.0]})  # fmt: skip
    text = records.astype({"item_id": str, "location_id": str})
    got = plan(forecast, inventory, lead_times=records)
    expected = plan(forecast, inventory, lead_times=text)
    assert got["lead_time_mean"].tolist() == [11.2, 4.0]  # the records of item 7 are used
    np.testing.assert_allclose(got["reorder_point"], expected["reorder_point"])


def test_numeric_inventory_ids_find_a_text_keyed_forecast():
    forecast = _keyed_cumulative(["7", "8"], ["3", "3"])
    inventory = pd.DataFrame({"item_id": [8, 7], "location_id": [3.0, 3.0], "on_hand": 0.0,
                              "lead_time_mean": [4.0, 9.0]})  # fmt: skip
    got = plan(forecast, inventory)
    assert got["item_id"].tolist() == [8, 7]  # the inventory's own keys, in its order
    expected = [stats.norm.ppf(0.95, 10.0 * t, 3.0 * math.sqrt(t)) for t in (4.0, 9.0)]
    np.testing.assert_allclose(got["reorder_point"], expected, rtol=1e-9)


def test_review_queue_holds_apply_to_numeric_inventory_ids(tmp_path, capsys):
    from serving.cli import main
    from serving.review import ReviewStore

    store = ReviewStore(tmp_path / "review.db")  # keeps every key as text
    store.enqueue(
        pd.DataFrame({"item_id": ["u1", "u2"], "sku": [101, 101], "location_id": [1, 1],
                      "product_id": ["p", "p"], "reasons": ["", ""], "score_damage": 0.5}),
        {},
    )  # fmt: skip
    keys = pd.DataFrame({"item_id": [101, 102], "location_id": [1, 1]})
    keys.assign(demand_mean=5.0, demand_std=2.0).to_csv(tmp_path / "f.csv", index=False)
    keys.assign(on_hand=10.0, lead_time_mean=3.0).to_csv(tmp_path / "inv.csv", index=False)
    out = tmp_path / "plan.csv"
    code = main(["plan", "--forecast", str(tmp_path / "f.csv"), "--inventory",
                 str(tmp_path / "inv.csv"), "--review-db", str(tmp_path / "review.db"),
                 "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert pd.read_csv(out)["inspection_held"].tolist() == [2.0, 0.0]


def test_numeric_segments_get_their_levels(tmp_path, capsys):
    keys = pd.DataFrame({"item_id": ["a", "b", "c"], "location_id": "x"})
    keys.assign(demand_mean=5.0, demand_std=2.0).to_csv(tmp_path / "f.csv", index=False)
    inventory = keys.assign(on_hand=0.0, lead_time_mean=4.0, segment=[1, 3, None])
    inventory.to_csv(tmp_path / "inv.csv", index=False)  # segment reads back as 1.0, 3.0, NaN
    out = tmp_path / "plan.csv"
    code = main(["plan", "--forecast", str(tmp_path / "f.csv"), "--inventory",
                 str(tmp_path / "inv.csv"), "--out", str(out), "--segment-levels",
                 "1=0.99,3=0.8"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert pd.read_csv(out)["service_level"].tolist() == [0.99, 0.8, 0.95]
    result = plan(
        keys.assign(demand_mean=5.0, demand_std=2.0),
        inventory.assign(segment=[1, 3, 2]),
        Policy(segment_service_levels={"1": 0.99, "3": 0.8}),
    )
    assert result["service_level"].tolist() == [0.99, 0.8, 0.95]


@pytest.mark.parametrize(
    "field, value",
    [
        ("service_level", "0.9"),
        ("default_cycle_days", "7"),
        ("seed", "3"),
        ("seed", 1.5),
        ("horizon_tolerance", True),
    ],  # fmt: skip
)
def test_policy_refuses_text_and_booleans_for_numbers(field, value):
    with pytest.raises(ValueError, match=rf"^Policy\.{field}: expected a"):
        Policy(**{field: value})


def test_the_plan_endpoint_answers_422_for_a_text_service_level(tmp_path):
    from fastapi.testclient import TestClient

    from serving.service.app import create_app

    (tmp_path / "repo").mkdir()
    body = {
        "forecast": [{"item_id": "a", "location_id": "x", "demand_mean": 5, "demand_std": 2}],
        "inventory": [{"item_id": "a", "location_id": "x", "on_hand": 12, "lead_time_mean": 4}],
        "policy": {"service_level": "0.9"},
    }
    with TestClient(create_app(tmp_path / "repo"), raise_server_exceptions=False) as client:
        response = client.post("/v1/plan", json=body)
    assert response.status_code == 422, response.text
    assert "Policy.service_level" in response.json()["detail"]


def test_allocation_demand_has_the_tails_of_its_quantiles(monkeypatch):
    levels = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
    cumulative = pd.DataFrame(
        [
            dict(item_id="sku1", location_id=loc, horizon=h,
                 **{f"q{p}": stats.norm.ppf(p, 10.0 * h, 3.0 * np.sqrt(h)) for p in levels})
            for loc in ("FC1", "FC2")
            for h in range(1, 15)
        ]
    )  # fmt: skip
    planned = pd.DataFrame({"item_id": "sku1", "location_id": ["FC1", "FC2"], "order_qty": 50.0})
    stock = planned[["item_id", "location_id"]].assign(on_hand=0.0)
    seen = {}

    def fake_allocate(demand, stock, supply):
        seen["demand"] = demand
        return pd.DataFrame(columns=["item_id", "location_id", "allocation", "expected_sales"])

    monkeypatch.setattr(demo_plan, "allocate", fake_allocate)
    config = types.SimpleNamespace(horizon=14)
    demo_plan._allocation(
        cumulative, planned, stock, config, np.random.default_rng(0), samples=20_000
    )
    d = seen["demand"]["demand"].to_numpy()
    mean, sd = 140.0, 3.0 * np.sqrt(14)  # 14 days of N(10, 3^2) demand
    assert abs(d.std() / sd - 1) < 0.03
    assert abs((d > stats.norm.ppf(0.95, mean, sd) + 1e-9).mean() - 0.05) < 0.006
    assert abs((d < stats.norm.ppf(0.05, mean, sd) - 1e-9).mean() - 0.05) < 0.006


# A row planned from sample paths does not depend on the other inventory rows.
#
# The lead-time draws came from one generator shared by all rows in inventory order, so a SKU's
# reorder point changed when another SKU was added, removed or the table was sorted differently.
def _poisson_paths(key, rate, rng, n_paths=300, steps=20):
    x = rng.poisson(rate, size=(n_paths, steps)).astype(float)
    return pd.DataFrame(
        {
            "item_id": key,
            "location_id": "FC1",
            "sample": np.repeat(np.arange(n_paths), steps),
            "step": np.tile(np.arange(1, steps + 1), n_paths),
            "demand": x.ravel(),
        }
    )


def test_sample_path_plan_of_a_row_does_not_depend_on_the_other_rows():
    rng = np.random.default_rng(0)
    forecast = pd.concat(
        [
            _poisson_paths("a", 3.0, rng),
            _poisson_paths("b", 5.0, rng),
            _poisson_paths("c", 1.0, rng),
        ]
    )
    inventory = pd.DataFrame(
        {
            "item_id": ["a", "b", "c"],
            "location_id": "FC1",
            "on_hand": 0.0,
            "lead_time_mean": [5.0, 4.0, 6.0],
            "lead_time_std": [2.0, 1.0, 2.0],
            "review_period": [0.0, 7.0, 0.0],
        }
    )
    policy = Policy(seed=3)
    whole = plan(forecast, inventory, policy).set_index("item_id")
    shuffled = plan(forecast, inventory.iloc[[2, 1, 0]], policy).set_index("item_id")
    pd.testing.assert_frame_equal(shuffled.loc[whole.index], whole)
    for key in "abc":
        alone = plan(forecast, inventory[inventory["item_id"] == key], policy)
        assert alone["reorder_point"].iat[0] == whole.loc[key, "reorder_point"]
    # The seed still decides the draws.
    other = plan(forecast, inventory, Policy(seed=4)).set_index("item_id")
    assert not np.allclose(other["reorder_point"], whole["reorder_point"])


# A continuous-review row whose forecast has no demand at all orders nothing.
#
# Its reorder point is 0, and the (r, Q) rule orders "at or below r", so a SKU with no demand and
# no stock ordered a whole case pack, or the MOQ, at every plan (the same SKU under periodic
# review ordered nothing, and the plan reports it "planned to 0 with fill rate 1").
def _forms(keys, n_steps=10, n_paths=20):
    parametric = keys.assign(demand_mean=0.0, demand_std=0.0)
    quantiles = pd.DataFrame(
        [[i, loc, h, 0.0, 0.0, 0.0] for i, loc in keys.itertuples(index=False)
         for h in range(1, n_steps + 1)],
        columns=["item_id", "location_id", "horizon", "q0.1", "q0.5", "q0.9"],
    )  # fmt: skip
    samples = pd.DataFrame(
        [[i, loc, s, t, 0.0] for i, loc in keys.itertuples(index=False)
         for s in range(n_paths) for t in range(1, n_steps + 1)],
        columns=["item_id", "location_id", "sample", "step", "demand"],
    )  # fmt: skip
    return {"parametric": parametric, "quantiles": quantiles, "samples": samples}


@pytest.mark.parametrize("form", ["parametric", "quantiles", "samples"])
def test_no_demand_and_no_stock_orders_nothing(form):
    keys = pd.DataFrame({"item_id": ["a", "b", "c", "d"], "location_id": "FC1"})
    inventory = keys.assign(
        on_hand=[0.0, 0.0, 0.0, 0.0],
        backorders=[0.0, 0.0, 0.0, 3.0],
        lead_time_mean=3.0,
        review_period=[0.0, 0.0, 7.0, 0.0],
        case_pack=[12.0, 1.0, 12.0, 1.0],
        moq=[0.0, 50.0, 0.0, 0.0],
    )
    out = plan(_forms(keys)[form], inventory, Policy())
    assert out["reorder_point"].tolist() == [0.0, 0.0, 0.0, 0.0]
    assert out["expected_fill_rate"].tolist() == [1.0, 1.0, 1.0, 1.0]
    np.testing.assert_array_equal(
        out["order_qty"], [0.0, 0.0, 0.0, 4.0]
    )  # backorders: into (r, r + Q]


def _cumulative(keys):
    rows = []
    for item, location in keys:
        for h in range(1, 6):
            rows.append((item, location, h, 2.0 * h, 4.0 * h, 6.0 * h))
    return pd.DataFrame(rows, columns=["item_id", "location_id", "horizon", "q0.1", "q0.5", "q0.9"])


@pytest.mark.parametrize(
    ("blank_key", "column"), [((None, "FC1"), "item_id"), (("sku3", None), "location_id")]
)
def test_blank_inventory_key_is_refused(blank_key, column):
    # The forecast has a row with the same blank key: before the fix the two matched.
    forecast = _cumulative([("sku1", "FC1"), blank_key, ("sku2", "FC1")])
    inventory = pd.DataFrame(
        [("sku1", "FC1"), ("sku2", "FC1"), blank_key], columns=["item_id", "location_id"]
    ).assign(on_hand=0.0, lead_time_mean=3.0)
    with pytest.raises(ValueError, match=rf"inventory: {column}: missing value at row 2"):
        plan(forecast, inventory)


def test_cli_blank_key(tmp_path):
    from serving.cli import main

    forecast = _cumulative([("sku1", "FC1"), ("", "FC1")])
    forecast.to_csv(tmp_path / "ltd.csv", index=False)
    (tmp_path / "inv.csv").write_text(
        "item_id,location_id,on_hand,lead_time_mean\nsku1,FC1,0,3\n,FC1,0,3\n"
    )
    out = tmp_path / "plan.csv"
    code = main(["plan", "--forecast", str(tmp_path / "ltd.csv"), "--inventory",
                 str(tmp_path / "inv.csv"), "--out", str(out)])  # fmt: skip
    assert code == 2
    assert not out.exists()


def _segment_tables():
    fc = pd.DataFrame(
        {"item_id": ["a", "b"], "location_id": "L", "demand_mean": 10.0, "demand_std": 2.0}
    )
    inv = fc[["item_id", "location_id"]].assign(on_hand=0.0, lead_time_mean=4.0, segment=[1, 2])
    return fc, inv


@pytest.mark.parametrize("name", [1.0, 1, "1"])
def test_a_numeric_segment_name_plans_its_segment(name):
    fc, inv = _segment_tables()
    result = plan(fc, inv, Policy(segment_service_levels={name: 0.98}))
    assert result["service_level"].tolist() == [0.98, 0.95]


def test_a_segment_level_given_as_text_or_bool_is_refused():
    with pytest.raises(ValueError, match=r"segment_service_levels\['1'\]"):
        Policy(segment_service_levels={"1": "0.98"})
    with pytest.raises(ValueError, match="segment_service_levels"):
        Policy(segment_service_levels={"1": True})
    with pytest.raises(ValueError, match="segment names"):
        Policy(segment_service_levels={None: 0.9})

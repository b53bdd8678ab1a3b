"""Table-level planning and allocation, the ``stockcast plan`` command and the no-torch rule."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize, stats

from kernels import Policy, abc_segments, allocate, leadtime, plan, position

ROOT = Path(__file__).resolve().parents[1]
LEVELS = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
QCOLS = [f"q{lv}" for lv in LEVELS]


def _keys(n_items=3, locations=("FC1", "FC2")):
    return pd.DataFrame(
        [(f"sku{i}", loc) for i in range(n_items) for loc in locations],
        columns=["item_id", "location_id"],
    )


def _inventory(keys, **cols):
    base = dict(on_hand=40.0, on_order=10.0, backorders=0.0, lead_time_mean=4.0, lead_time_std=0.0)
    base.update(cols)
    return keys.assign(**base)


def _cumulative(keys, d=10.0, sd=3.0, horizons=20):
    rows = []
    for item, loc in keys.itertuples(index=False):
        for h in range(1, horizons + 1):
            rows.append([item, loc, h, *stats.norm.ppf(LEVELS, d * h, sd * math.sqrt(h))])
    return pd.DataFrame(rows, columns=["item_id", "location_id", "horizon", *QCOLS])


def _paths(keys, rng, n_paths=2000, steps=20, d=10.0, sd=3.0):
    n = len(keys)
    demand = rng.normal(d, sd, size=(n, n_paths, steps)).clip(0)
    return pd.DataFrame(
        {
            "item_id": np.repeat(keys["item_id"].to_numpy(), n_paths * steps),
            "location_id": np.repeat(keys["location_id"].to_numpy(), n_paths * steps),
            "sample": np.tile(np.repeat(np.arange(n_paths), steps), n),
            "step": np.tile(np.arange(1, steps + 1), n * n_paths),
            "demand": demand.ravel(),
        }
    )


def test_three_forecast_forms_give_consistent_plans_on_normal_demand():
    keys = _keys()
    inv = _inventory(keys, review_period=[0.0, 5.0] * 3, service_level=0.95, case_pack=1.0)
    par = plan(keys.assign(demand_mean=10.0, demand_std=3.0), inv)
    cum = plan(_cumulative(keys), inv)
    smp = plan(_paths(keys, np.random.default_rng(0)), inv)
    z = stats.norm.ppf(0.95)
    cont = par["review"] == "continuous"
    np.testing.assert_allclose(par.loc[cont, "safety_stock"], z * 3.0 * 2.0, rtol=1e-9)
    np.testing.assert_allclose(par.loc[~cont, "safety_stock"], z * 3.0 * 3.0, rtol=1e-9)
    # Quantile tables of normal demand reproduce the parametric plan exactly.
    for col in ("safety_stock", "reorder_point", "order_up_to", "order_qty"):
        np.testing.assert_allclose(cum[col], par[col], rtol=1e-7, atol=1e-6, err_msg=col)
    # Sample paths agree within sampling error (2000 paths: quantile s.e. ~ 0.3 units).
    np.testing.assert_allclose(smp["safety_stock"], par["safety_stock"], atol=1.5)
    assert list(par.columns[:2]) == ["item_id", "location_id"]
    assert (par["cycle_service_level"].round(9) == 0.95).all()
    # Continuous review: position 50 is above r = 40 + 9.87, so no order yet.
    row = par.iloc[0]
    assert row["inventory_position"] == 50.0
    assert row["lot_size"] == 70.0  # 7 days of mean demand
    assert row["reorder_point"] < 50.0 and row["order_qty"] == 0.0
    assert row["order_up_to"] == row["reorder_point"] + row["lot_size"]


def test_continuous_rows_order_whole_lots_and_periodic_rows_order_up_to_s():
    keys = _keys(n_items=3)
    inv = _inventory(
        keys,
        on_hand=[0.0, 0.0, 0.0, 0.0, 5.0, 0.0],
        on_order=0.0,
        backorders=[0.0, 130.0, 0.0, 60.0, 0.0, 0.0],
        review_period=[0.0, 0.0, 0.0, 0.0, 0.0, 7.0],
        case_pack=[1.0, 1.0, 12.0, 12.0, 10.0, 12.0],
        moq=[0.0, 0.0, 0.0, 100.0, 0.0, 0.0],
        lot_size=[50.0, 50.0, 50.0, 50.0, 50.0, np.nan],
    )
    out = plan(keys.assign(demand_mean=10.0, demand_std=3.0), inv)
    lot, r, ip = out["lot_size"], out["reorder_point"], out["inventory_position"]
    # Q is rounded up to whole case packs and to at least the MOQ: 50, 50, 60, 108, 50.
    np.testing.assert_array_equal(lot[:5], [50.0, 50.0, 60.0, 108.0, 50.0])
    cont = out["review"] == "continuous"
    n_lots = out["order_qty"][cont] / lot[cont]
    np.testing.assert_array_equal(n_lots, np.round(n_lots))
    after = ip + out["order_qty"]
    assert ((after[cont] > r[cont]) & (after[cont] <= r[cont] + lot[cont])).all()
    assert (n_lots > 1).any()  # a deep backlog takes several lots, not "up to r + Q"
    np.testing.assert_array_equal(out["order_up_to"][cont], (r + lot)[cont])
    # Periodic review: up to S, rounded up to whole case packs.
    s_up = out["order_up_to"][5]
    assert out["order_qty"][5] == 12.0 * math.ceil(s_up / 12.0)


def test_fill_rate_newsvendor_and_segment_targets_are_applied_per_row():
    keys = _keys(n_items=4, locations=("FC1",))
    inv = _inventory(
        keys,
        segment=["A", "B", "C", "A"],
        service_type=["cycle", "cycle", "fill_rate", "newsvendor"],
        margin=3.0,
        holding_cost=0.1,
        review_period=7.0,
    )
    inv.loc[1, "service_level"] = 0.8  # a row's own target beats its segment's
    policy = Policy(segment_service_levels={"A": 0.99, "B": 0.95, "C": 0.9})
    out = plan(keys.assign(demand_mean=10.0, demand_std=3.0), inv, policy)
    ratio = 3.0 / (3.0 + 0.1 * 7)
    np.testing.assert_allclose(out["service_level"], [0.99, 0.8, 0.9, ratio])
    np.testing.assert_allclose(out["cycle_service_level"][[0, 1, 3]], [0.99, 0.8, ratio])
    assert out["expected_fill_rate"][2] == pytest.approx(0.9, abs=1e-9)
    np.testing.assert_array_equal(abc_segments([50.0, 30.0, 15.0, 5.0]), ["A", "A", "B", "C"])


def test_newsvendor_rows_without_a_finite_optimum_are_named_not_clipped():
    keys = _keys(n_items=2, locations=("FC1",))
    f = keys.assign(demand_mean=10.0, demand_std=3.0)
    inv = _inventory(keys, service_type="newsvendor", margin=3.0, holding_cost=[0.1, 0.0])
    message = r"holding_cost: newsvendor rows need holding_cost > 0 .* at key \(sku1, FC1\)$"
    with pytest.raises(ValueError, match=message):
        plan(f, inv)
    with pytest.raises(
        ValueError, match=r"margin: newsvendor rows need margin > 0 .* \(sku0, FC1\)$"
    ):
        plan(f, inv.assign(margin=[0.0, 3.0], holding_cost=0.1))
    # A cycle-service row needs neither.
    out = plan(f, inv.assign(service_type=["newsvendor", "cycle"]))
    assert out["service_level"][0] == pytest.approx(3.0 / 3.1) and out["service_level"][1] == 0.95


def test_fill_rate_rows_without_demand_over_the_review_period_are_named():
    keys = _keys(n_items=2, locations=("FC1",))
    # sku1 has demand on the first 4 days only: over a 4-day lead time plus a 3-day review period
    # the demand per review period is zero, and a fill rate is undefined (it used to read 1.0).
    cum = _cumulative(keys)
    late = (cum["item_id"] == "sku1") & (cum["horizon"] > 4)
    q4 = cum.loc[(cum["item_id"] == "sku1") & (cum["horizon"] == 4), QCOLS].to_numpy()
    cum.loc[late, QCOLS] = np.repeat(q4, late.sum(), axis=0)
    inv = _inventory(keys, review_period=3.0, service_type="fill_rate")
    message = r"service_type: fill_rate rows need demand over the review period.* \(sku1, FC1\)$"
    with pytest.raises(ValueError, match=message):
        plan(cum, inv)
    # Cycle-service rows plan, and report no fill rate rather than a perfect one.
    out = plan(cum, inv.assign(service_type="cycle"))
    assert math.isnan(out["expected_fill_rate"][1]) and 0 < out["expected_fill_rate"][0] < 1
    # An item with no demand at all plans to zero with nothing short.
    zero = plan(keys.assign(demand_mean=[10.0, 0.0], demand_std=[3.0, 0.0]), inv)
    assert zero["reorder_point"][1] == 0.0 and zero["expected_fill_rate"][1] == 1.0


def test_lead_time_records_replace_the_inventory_lead_time():
    keys = _keys(n_items=1)
    inv = _inventory(keys, lead_time_mean=np.nan, lead_time_std=np.nan)
    records = pd.DataFrame(
        {
            "item_id": ["sku0"] * 4 + ["sku0"] * 2,
            "location_id": ["FC1"] * 4 + ["FC2"] * 2,
            "order_date": pd.date_range("2024-01-01", periods=6),
            "lead_time_days": [3.0, 5.0, 4.0, 4.0, 6.0, 6.0],
        }
    )
    out = plan(keys.assign(demand_mean=10.0, demand_std=3.0), inv, lead_times=records)
    np.testing.assert_allclose(out["lead_time_mean"], [4.0, 6.0])
    np.testing.assert_allclose(out["lead_time_std"], [np.std([3, 5, 4, 4], ddof=1), 0.0])
    cum = plan(_cumulative(keys), inv, lead_times=records)
    # Lead time 3, 4, 4, 5 days: the mixture's mean is 10 x 4 days.
    assert cum["demand_mean"][0] == pytest.approx(40.0, rel=1e-6)


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda inv, f: inv.assign(on_hand=[5.0, -1.0, 3.0, 1.0, 0.0, 2.0]), r"on_hand: negative"),
        (
            lambda inv, f: inv.assign(lead_time_mean=[4.0, 4.0, -2.0, 4.0, 4.0, 4.0]),
            r"lead_time_mean: negative value at key \(sku1, FC1\)",
        ),
        (
            lambda inv, f: inv.assign(service_level=[0.9, 1.0, 0.9, 0.9, 0.9, 0.9]),
            r"service_level: must be strictly between 0 and 1 at key \(sku0, FC2\)",
        ),
        (
            lambda inv, f: inv.assign(on_order=[0.0, np.nan, 0, 0, 0, 0]),
            r"on_order: missing or non-finite value at key \(sku0, FC2\)",
        ),
        (
            lambda inv, f: pd.concat([inv, inv.iloc[:1]]),
            r"inventory: duplicate item_id/location_id",
        ),
        (
            lambda inv, f: pd.concat(
                [inv, _inventory(pd.DataFrame({"item_id": ["skuX"], "location_id": ["FC9"]}))]
            ),
            r"forecast: no forecast for the inventory row at key \(skuX, FC9\)",
        ),
        (lambda inv, f: inv.drop(columns="on_hand"), r"inventory: missing column\(s\) on_hand"),
    ],
)
def test_bad_inventory_is_rejected_with_field_and_keys(change, message):
    keys = _keys()
    f = keys.assign(demand_mean=10.0, demand_std=3.0)
    with pytest.raises(ValueError, match=message):
        plan(f, change(_inventory(keys), f))


def test_bad_forecasts_are_rejected():
    keys = _keys(n_items=1)
    inv = _inventory(keys)
    per_step = _cumulative(keys).rename(columns={"horizon": "step"})
    with pytest.raises(ValueError, match="per-step quantiles cannot be added up"):
        plan(per_step, inv)
    short = _cumulative(keys, horizons=3)
    with pytest.raises(ValueError, match=r"lead_time: .* exceeds the forecast horizon \(3 steps\)"):
        plan(short, inv.assign(lead_time_mean=6.0))
    gap = _cumulative(keys)
    gap = gap[~((gap["location_id"] == "FC2") & (gap["horizon"] == 7))]
    with pytest.raises(ValueError, match=r"horizon: forecast must cover horizons 1..20 at key"):
        plan(gap, inv)
    nan = keys.assign(demand_mean=[10.0, np.nan], demand_std=3.0)
    with pytest.raises(ValueError, match=r"demand_mean: missing or non-finite value at key"):
        plan(nan, inv)
    paths = _paths(keys, np.random.default_rng(1), n_paths=10, steps=5)
    with pytest.raises(ValueError, match=r"lead_time: lead time \+ review period exceeds"):
        plan(paths, inv.assign(lead_time_mean=8.0))


def test_allocate_table_splits_supply_and_holds_back_reserve():
    rng = np.random.default_rng(3)
    stock = pd.DataFrame(
        {
            "item_id": ["a", "a", "a", "b", "b"],
            "location_id": ["F1", "F2", "F3", "F1", "F2"],
            "on_hand": [0.0, 5.0, 20.0, 0.0, 0.0],
            "cap": [100, 100, 2, 100, 100],
            "margin": [1.0, 1.0, 1.0, 5.0, 1.0],
        }
    )
    demand = pd.DataFrame(
        [
            (i, loc, s, float(rng.poisson(10)))
            for i, loc in stock[["item_id", "location_id"]].itertuples(index=False)
            for s in range(50)
        ],
        columns=["item_id", "location_id", "sample", "demand"],
    )
    supply = pd.DataFrame({"item_id": ["b", "a"], "supply": [8, 12], "reserve": [0, 2]})
    out = allocate(demand, stock, supply, objective="margin")
    per_item = out.groupby("item_id")["allocation"].sum()
    assert per_item["a"] == 10 and per_item["b"] == 8
    assert (out["allocation"] <= stock["cap"]).all()
    # FC1 of item b earns five times the margin: it is served first.
    assert out.loc[3, "allocation"] >= out.loc[4, "allocation"]
    assert out.loc[0, "allocation"] > out.loc[2, "allocation"]
    zero = allocate(demand, stock, supply.assign(supply=0))
    assert (zero["allocation"] == 0).all()
    with pytest.raises(ValueError, match=r"supply: no supply row for item\(s\) b"):
        allocate(demand, stock, supply.iloc[1:])
    with pytest.raises(
        ValueError,
        match=r"demand: no demand samples for the stock row at keys \(a, F2\), \(b, F2\)",
    ):
        allocate(demand[demand["location_id"] != "F2"], stock, supply)


def test_position_table_api():
    fc = pd.DataFrame(
        {
            "item_id": ["a", "a"],
            "location_id": ["F1", "F2"],
            "demand_mean": [10.0, 5.0],
            "demand_std": [4.0, 2.0],
            "lead_time": [2.0, 3.0],
            "service_level": [0.95, 0.95],
            "holding_cost": [1.0, 1.0],
        }
    )
    dc = pd.DataFrame(
        {"item_id": ["a"], "lead_time": [10.0], "service_level": [0.95], "holding_cost": [0.3]}
    )
    dc_plan, fc_plan = position(fc, dc)
    assert dc_plan["dc_service_time"][0] in (0.0, 10.0)
    assert (fc_plan["safety_stock"] > 0).all()
    # A promise longer than the FC's whole replenishment time: no safety stock there, no error.
    _, fc_plan = position(fc.assign(service_time=[0.0, 30.0]), dc)
    assert fc_plan["safety_stock"][1] == 0.0 and fc_plan["net_replenishment_time"][1] == 0.0
    # Bad values are named by their item (DC table) or key (FC table), not by position.
    two = pd.concat([dc, dc.assign(item_id="b")], ignore_index=True)
    fc2 = pd.concat([fc, fc.iloc[:1].assign(item_id="b")], ignore_index=True)
    for bad, message in (
        (two.assign(lead_time=[10.0, np.nan]), r"dc lead_time: missing or non-finite .* key b$"),
        (two.assign(holding_cost=[0.3, -1.0]), r"dc holding_cost: negative value at key b$"),
        (two.assign(service_level=[0.95, 1.0]), r"dc service_level: must be .* at key b$"),
        (two.assign(inbound_service=[-1.0, 0.0]), r"dc inbound_service: negative .* key a$"),
    ):
        with pytest.raises(ValueError, match=message):
            position(fc2, bad)
    with pytest.raises(ValueError, match=r"fc service_time: negative value at key \(a, F2\)"):
        position(fc2.assign(service_time=[0.0, -1.0, 0.0]), two)


def test_cli_writes_the_plan_atomically_and_reports_bad_input(tmp_path, capsys):
    from serving.cli import main

    keys = _keys()
    _cumulative(keys).to_parquet(tmp_path / "f.parquet")
    _inventory(keys, segment=["A", "B"] * 3).to_csv(tmp_path / "inv.csv", index=False)
    out = tmp_path / "plan.parquet"
    rc = main(
        [
            "plan",
            "--forecast", str(tmp_path / "f.parquet"),
            "--inventory", str(tmp_path / "inv.csv"),
            "--out", str(out),
            "--segment-levels", "A=0.98,B=0.9",
        ]
    )  # fmt: skip
    assert rc == 0
    result = pd.read_parquet(out)
    assert len(result) == 6
    np.testing.assert_allclose(result["service_level"], [0.98, 0.9] * 3)
    assert "planned 6 item-locations" in capsys.readouterr().out
    bad = _inventory(keys).assign(lead_time_mean=[4.0, -1.0, 4.0, 4.0, 4.0, 4.0])
    bad.to_csv(tmp_path / "bad.csv", index=False)
    out2 = tmp_path / "plan2.csv"
    rc = main(
        ["plan", "--forecast", str(tmp_path / "f.parquet"), "--inventory",
         str(tmp_path / "bad.csv"), "--out", str(out2)]
    )  # fmt: skip
    assert rc == 2
    assert "lead_time_mean: negative value at key (sku0, FC2)" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bad.csv",
        "f.parquet",
        "inv.csv",
        "plan.parquet",
    ]


def test_rejected_units_leave_sellable_stock_before_planning():
    keys = _keys()
    forecast, inventory = _cumulative(keys), _inventory(keys)
    base = plan(forecast, inventory)
    counts = pd.DataFrame(
        {
            "item_id": ["sku0", "sku2"],
            "location_id": ["FC2", "FC1"],
            "rejected_units": [5, 12],
            "review_units": [3, 0],
        }
    )
    held = plan(forecast, inventory, rejected=counts)
    want = np.array([0, 5, 0, 0, 12, 0], dtype=float)
    np.testing.assert_allclose(held["inspection_held"], want)
    np.testing.assert_allclose(held["inventory_position"], base["inventory_position"] - want)
    assert (held["order_qty"] >= base["order_qty"]).all()
    assert held["order_qty"].sum() > base["order_qty"].sum()
    # Units waiting for review are held too when asked.
    review = plan(forecast, inventory, rejected=counts, hold_review=True)
    np.testing.assert_allclose(review["inspection_held"], want + [0, 3, 0, 0, 0, 0])
    # Per-SKU counts without a location apply to SKUs stocked at one location only.
    one_fc = _keys(locations=("FC1",))
    per_sku = pd.DataFrame({"item_id": ["sku1"], "rejected_units": [4]})
    res = plan(_cumulative(one_fc), _inventory(one_fc), rejected=per_sku)
    np.testing.assert_allclose(res["inspection_held"], [0, 4, 0])
    with pytest.raises(ValueError, match=r"stocked at several locations.*location_id"):
        plan(forecast, inventory, rejected=per_sku)
    with pytest.raises(ValueError, match=r"rejected: no inventory row .* key \(sku9, FC1\)"):
        plan(forecast, inventory, rejected=counts.assign(item_id=["sku0", "sku9"]))
    with pytest.raises(ValueError, match=r"rejected_units: more units .* key \(sku2, FC1\)"):
        plan(forecast, inventory, rejected=counts.assign(rejected_units=[5, 41]))
    with pytest.raises(ValueError, match=r"rejected_units: negative value"):
        plan(forecast, inventory, rejected=counts.assign(rejected_units=[-1, 2]))


def test_cli_takes_inspection_counts(tmp_path, capsys):
    from serving.cli import main

    keys = _keys()
    _cumulative(keys).to_parquet(tmp_path / "f.parquet")
    _inventory(keys).to_csv(tmp_path / "inv.csv", index=False)
    pd.DataFrame(
        {"item_id": ["sku1"], "location_id": ["FC1"], "rejected_units": [7], "review_units": [2]}
    ).to_csv(tmp_path / "rejected.csv", index=False)
    args = ["plan", "--forecast", str(tmp_path / "f.parquet"), "--inventory",
            str(tmp_path / "inv.csv"), "--rejected", str(tmp_path / "rejected.csv")]  # fmt: skip
    assert main([*args, "--hold-review", "--out", str(tmp_path / "p.csv")]) == 0
    result = pd.read_csv(tmp_path / "p.csv")
    assert result["inspection_held"].tolist() == [0, 0, 9, 0, 0, 0]
    plain = args[:5]
    assert main([*plain, "--hold-review", "--out", str(tmp_path / "q.csv")]) == 2
    assert "--hold-review needs --rejected or --review-db" in capsys.readouterr().err
    assert not (tmp_path / "q.csv").exists()


def test_planning_never_imports_torch_and_plan_help_loads_no_kernel(tmp_path):
    code = (
        "import sys, json\n"
        "heavy = lambda: sorted(m for m in ('numba', 'scipy', 'torch') if m in sys.modules)\n"
        "import kernels, kernels.io, kernels.settings, kernels.config\n"
        "light = heavy()\n"
        "from serving.cli import main\n"
        "try:\n"
        "    main(['plan', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "help_ = heavy()\n"
        "import pandas as pd\n"
        "from kernels import plan\n"
        "keys = pd.DataFrame({'item_id': ['a', 'b'], 'location_id': ['x', 'x']})\n"
        "inv = keys.assign(on_hand=3.0, lead_time_mean=2.0)\n"
        "f = keys.assign(demand_mean=1.0, demand_std=0.5)\n"
        "plan(f, inv)\n"
        f"f.to_csv(r'{tmp_path}/f.csv', index=False)\n"
        f"inv.to_csv(r'{tmp_path}/i.csv', index=False)\n"
        f"rc = main(['plan', '--forecast', r'{tmp_path}/f.csv', '--inventory', r'{tmp_path}/i.csv',"
        f" '--out', r'{tmp_path}/p.csv'])\n"
        "cuda = [m for m in ('kernels.cuda', 'numba.cuda') if m in sys.modules]\n"
        "print(json.dumps({'rc': rc, 'torch': 'torch' in sys.modules, 'light': light,\n"
        "                  'help': help_, 'cuda': cuda}))\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    # kernels' light modules and `stockcast plan --help` load no kernel; a plan never loads
    # torch, nor the GPU kernels (kernels.cuda is imported only where a GPU is wanted).
    assert res == {"rc": 0, "torch": False, "light": [], "help": [], "cuda": []}


def test_fractional_lead_time_records_keep_their_mean_with_cumulative_quantiles():
    """Records of 2.5 days: the lead-time distribution splits each record between days 2 and
    3 (as a fixed 2.5-day lead time does), so the plan protects the lead time the row reports.
    Rounding to whole days planned for 2: demand_mean 20.0 and a reorder point 18% short."""
    levels = [0.05, 0.25, 0.5, 0.75, 0.95]
    cum = pd.DataFrame(
        [("a", "F", h, *stats.norm.ppf(levels, 10.0 * h, 3.0 * np.sqrt(h))) for h in range(1, 11)],
        columns=["item_id", "location_id", "horizon"] + [f"q{lv}" for lv in levels],
    )
    inv = pd.DataFrame(
        {"item_id": ["a"], "location_id": ["F"], "on_hand": [0.0], "service_level": [0.95]}
    )
    records = pd.DataFrame({"item_id": "a", "location_id": "F", "lead_time_days": [2.5] * 4})
    from_records = plan(cum, inv, lead_times=records)
    from_mean = plan(cum, inv.assign(lead_time_mean=2.5, lead_time_std=0.0))

    # Independent reference: the 50/50 mixture of N(20, 3 sqrt 2) and N(30, 3 sqrt 3) demand.
    def cdf(x):
        return 0.5 * stats.norm.cdf(x, 20, 3 * np.sqrt(2)) + 0.5 * stats.norm.cdf(
            x, 30, 3 * np.sqrt(3)
        )

    rop = optimize.brentq(lambda x: cdf(x) - 0.95, 0, 100)
    assert from_records["lead_time_mean"][0] == 2.5
    assert from_records["demand_mean"][0] == pytest.approx(25.0, rel=1e-6)
    assert from_records["reorder_point"][0] == pytest.approx(rop, rel=1e-6)
    assert from_records["reorder_point"][0] == pytest.approx(from_mean["reorder_point"][0])


# A random lead time keeps its mean when it is put on whole forecast steps.
#
# The gamma lead time was rounded to the nearest step: with a weekly forecast a 2-day lead time
# with a 0.1-day spread became 0 weeks (no lead-time demand, reorder point 0, no order for an FC
# with 10 units against 70 a week), while the same lead time without spread was split 5/7 : 2/7
# between 0 and 1 week (mean kept). Each lead time is now split that way.
@pytest.mark.parametrize(
    "mean, std", [(2 / 7, 0.1 / 7), (0.3, 0.2), (5.0, 2.0), (4.4, 0.3), (3.0, 3.0)]
)
def test_gamma_lead_time_pmf_keeps_the_mean_and_splits_each_time_linearly(mean, std):
    pmf = leadtime.lead_time_pmf([mean], [std], 80)[0]
    assert pmf.sum() == pytest.approx(1.0, abs=1e-6)
    assert pmf @ np.arange(81) == pytest.approx(mean, rel=1e-6)
    g = stats.gamma((mean / std) ** 2, scale=std**2 / mean)
    for day in range(6):
        want = integrate.quad(
            lambda t, d=day: max(0.0, 1.0 - abs(t - d)) * g.pdf(t),
            max(0.0, day - 1.0),
            day + 1.0,
            points=[day],
        )[0]
        assert pmf[day] == pytest.approx(want, abs=1e-9)


def test_weekly_plan_does_not_drop_a_short_lead_time_with_some_spread():
    levels = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95]
    forecast = pd.DataFrame(
        [
            {"item_id": "sku", "location_id": "FC", "horizon": h,
             **{f"q{p}": stats.norm.ppf(p, 70 * h, 15 * np.sqrt(h)) for p in levels}}
            for h in range(1, 9)
        ]
    )  # fmt: skip
    out = {}
    for std in (0.0, 0.1, 0.5):
        inventory = pd.DataFrame(
            {"item_id": ["sku"], "location_id": "FC", "on_hand": [10.0], "lead_time_mean": [2.0],
             "lead_time_std": [std]}
        )  # fmt: skip
        out[std] = plan(forecast, inventory, Policy(step_days=7)).iloc[0]
    # 2 days of a week: 2/7 of its demand; a spread in the lead time adds to it (gamma lead
    # times, Monte Carlo references 27.3 and 32.1; the day split adds a little more).
    assert out[0.0]["reorder_point"] == pytest.approx(2 / 7 * stats.norm.ppf(0.95, 70, 15))
    for std, most in ((0.1, 1.05), (0.5, 1.1)):
        assert out[std]["demand_mean"] == pytest.approx(20.0, rel=1e-6)
        assert out[0.0]["reorder_point"] < out[std]["reorder_point"]
        assert out[std]["reorder_point"] < most * {0.1: 27.3, 0.5: 32.1}[std]
        assert out[std]["order_qty"] > 0


def test_kernel_row_errors_name_keys_with_their_spacing():
    from kernels.tables import _relabel

    labels = ["(007, FC1)", "(010, FC1)"]
    assert _relabel("cap: not whole at rows 0, 1 and 3 more", labels) == (
        "cap: not whole at keys (007, FC1), (010, FC1) and 3 more"
    )
    assert _relabel("bad at row 1", labels) == "bad at key (010, FC1)"


def test_zero_lead_time_with_demand_orders():
    forecast = pd.DataFrame(
        {"item_id": ["a", "b", "c"], "location_id": "X", "demand_mean": [10.0, 10.0, 0.0],
         "demand_std": [3.0, 3.0, 0.0]}
    )  # fmt: skip
    inventory = forecast[["item_id", "location_id"]].assign(
        on_hand=0.0, lead_time_mean=[0.0, 0.01, 0.0], service_type=["cycle", "fill_rate", "cycle"]
    )
    out = plan(forecast, inventory, Policy())
    # (r, Q) by hand: r = 0 (no lead-time demand) or about 0.1 + z sd, Q = 7 days x 10 = 70;
    # a position of 0 is at or below r, so order one lot. The row without demand orders nothing.
    np.testing.assert_array_equal(out["order_qty"], [70.0, 70.0, 0.0])


def test_demand_after_the_lead_time_orders():
    # Sample paths: no demand on steps 1..3 (the lead time), 5 a day on steps 4..10.
    rows = [("a", "X", s, t, 0.0 if t <= 3 else 5.0) for s in range(5) for t in range(1, 11)]
    forecast = pd.DataFrame(rows, columns=["item_id", "location_id", "sample", "step", "demand"])
    inventory = pd.DataFrame(
        {"item_id": ["a"], "location_id": "X", "on_hand": [0.0], "lead_time_mean": [3.0],
         "lot_size": [20.0]}
    )  # fmt: skip
    out = plan(forecast, inventory, Policy())
    assert out["reorder_point"].iat[0] == 0.0
    # Position 0 <= r = 0: the (r, Q) rule orders Q = 20, which arrives for day 4's demand.
    assert out["order_qty"].iat[0] == 20.0

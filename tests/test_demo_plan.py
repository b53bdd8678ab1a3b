"""The demo's planning step: its allocation and simulation see sellable stock (on_hand less the
units inspection holds, taken off once), and its own transit times fit the forecast."""

from __future__ import annotations

import types

import pandas as pd

import serving.demo.plan as demo_plan


def _cumulative(keys: pd.DataFrame, horizon: int) -> pd.DataFrame:
    return pd.concat(
        [keys.assign(horizon=h, **{"q0.05": 0.6 * h, "q0.5": 1.0 * h, "q0.95": 1.5 * h})
         for h in range(1, horizon + 1)]
    )  # fmt: skip


def _planning_step(monkeypatch, keys, inventory, rejected, horizon, actuals=None, **fakes):
    """``demo_plan.planning_step`` with a fixed forecast and inventory; ``fakes`` replace its
    allocation, positioning and simulation (the real ones where not given)."""
    cumulative = _cumulative(keys, horizon)

    class Package:
        provider = "test"

        def __init__(self, _folder):
            pass

        def predict(self, table, cumulative=None):
            return cumulative_table

    cumulative_table = cumulative
    monkeypatch.setattr(demo_plan, "open_forecast_package", Package)
    monkeypatch.setattr(demo_plan, "_inventory", lambda data, rej, config, rng: inventory.copy())
    monkeypatch.setattr(demo_plan, "_positioning", lambda *a: (None, None))
    for name, fake in fakes.items():
        monkeypatch.setattr(demo_plan, name, fake)
    data = types.SimpleNamespace(
        cutoff=pd.Timestamp("2024-01-01"),
        forecast_table=lambda origin, horizon: None,
        actuals=actuals or (lambda start, days: keys.assign(date=start, demand=1.0)),
    )
    config = types.SimpleNamespace(horizon=horizon, seed=0, holdout_days=7)
    return demo_plan.planning_step(data, None, rejected, config)


TWO_FCS = pd.DataFrame({"item_id": ["sku1", "sku1"], "location_id": ["FC1", "FC2"]})


def test_demo_allocation_excludes_units_held_by_inspection(monkeypatch):
    # FC1 holds 10 units before inspection, 8 of them rejected: 2 sellable, like FC2.
    inventory = TWO_FCS.assign(
        segment="A", on_hand=[10.0, 2.0], review_period=0.0, case_pack=1.0, lead_time_mean=2.0
    )
    rejected = TWO_FCS.assign(rejected_units=[8, 0], review_units=[0, 0])
    seen = {}

    def fake_allocate(demand, stock, supply):
        seen["stock"] = stock.set_index("location_id")["on_hand"].to_dict()
        return pd.DataFrame(columns=["item_id", "location_id", "allocation", "expected_sales"])

    out = _planning_step(
        monkeypatch, TWO_FCS, inventory, rejected, 14,
        compare=lambda *a, **k: None, allocate=fake_allocate,
    )  # fmt: skip
    assert out.plan["inspection_held"].tolist() == [8.0, 0.0]
    assert seen["stock"] == {"FC1": 2.0, "FC2": 2.0}


def test_demo_simulation_starts_from_stock_less_the_held_units_once(monkeypatch):
    # FC1 holds 10 units before inspection: 3 rejected, 2 waiting for review, 5 sellable. The
    # simulation takes the plan's inspection_held off on_hand itself; it was given the
    # sellable stock and took them off twice.
    inventory = TWO_FCS.assign(segment="A", on_hand=[10.0, 5.0], review_period=0.0, case_pack=1.0)
    rejected = TWO_FCS.assign(rejected_units=[3, 0], review_units=[2, 0])

    def actuals(start, days):
        return pd.concat(
            [TWO_FCS.assign(date=start + pd.Timedelta(days=d), demand=1.0) for d in range(days)]
        )

    out = _planning_step(
        monkeypatch, TWO_FCS, inventory, rejected, 14, actuals=actuals,
        _allocation=lambda *a, **k: pd.DataFrame(),
    )  # fmt: skip
    assert out.plan["inspection_held"].tolist() == [5.0, 0.0]
    for result in (out.simulation.plan, out.simulation.rule):
        first = result.daily()
        first = first[first["date"] == first["date"].min()].set_index("location_id")
        start = first["on_hand"] + first["served"] - first["received"]
        assert start.to_dict() == {"FC1": 5.0, "FC2": 5.0}


def test_demo_transit_times_fit_a_seven_day_horizon(monkeypatch):
    # `stockcast demo --horizon 7`: 300 SKUs at each FC; the third FC's band has a 4-day mean
    # transit (cv 1/3), and about 1.4% of the gamma draws rounded to 8 days or more, which the
    # plan refused for lead times the user never gave.
    keys = pd.DataFrame({"item_id": [f"sku{i}" for i in range(300)], "location_id": "FC3"})
    keys = pd.concat([keys.assign(location_id=fc) for fc in ("FC1", "FC2", "FC3")])
    keys = keys.reset_index(drop=True)
    inventory = keys.assign(segment="A", on_hand=5.0, review_period=0.0, case_pack=1.0)
    out = _planning_step(
        monkeypatch, keys, inventory, None, 7,
        _allocation=lambda *a, **k: pd.DataFrame(), compare=lambda *a, **k: None,
    )  # fmt: skip
    assert len(out.plan) == len(keys) and out.plan["reorder_point"].notna().all()
    assert out.transit["lead_time_days"].between(1, 7).all()


def test_demo_positioning_reads_each_fcs_own_transit_times(monkeypatch):
    """The DC/FC positioning places each FC's stock over the transit its plan reads (every FC
    was given 3 days, where the plans read 1.5, 2.5 or 4 around the FC's distance band)."""
    from forecasting.spec import quantile_column

    cumulative = TWO_FCS.assign(horizon=14)
    for q, value in ((0.05, 10.0), (0.5, 20.0), (0.95, 30.0)):
        cumulative[quantile_column(q)] = value
    inventory = TWO_FCS.assign(segment="A")
    transit = pd.DataFrame(
        {"item_id": "sku1", "location_id": ["FC1", "FC1", "FC2", "FC2"],
         "lead_time_days": [1.0, 2.0, 4.0, 6.0]}
    )  # fmt: skip
    seen = {}

    def fake_position(fc, dc):
        seen["fc"] = fc
        return dc, fc

    monkeypatch.setattr(demo_plan, "position", fake_position)
    data = types.SimpleNamespace(lead_times=None)
    demo_plan._positioning(data, cumulative, inventory, transit)
    lead = seen["fc"].set_index("location_id")["lead_time"]
    assert lead.to_dict() == {"FC1": 1.5, "FC2": 5.0}

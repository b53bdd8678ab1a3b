"""The demo's scarce-inbound allocation sees sellable stock (on_hand less the units inspection
holds), as its plan and simulation do."""

from __future__ import annotations

import types

import pandas as pd

import serving.demo.plan as demo_plan


def test_demo_allocation_excludes_units_held_by_inspection(monkeypatch):
    keys = pd.DataFrame({"item_id": ["sku1", "sku1"], "location_id": ["FC1", "FC2"]})
    cumulative = pd.DataFrame(
        [
            dict(
                item_id="sku1",
                location_id=loc,
                horizon=h,
                **{"q0.05": 0.6 * h, "q0.5": 1.0 * h, "q0.95": 1.5 * h},
            )
            for loc in ("FC1", "FC2")
            for h in range(1, 15)
        ]
    )
    # FC1 holds 10 units before inspection, 8 of them rejected: 2 sellable, like FC2.
    inventory = keys.assign(
        segment="A", on_hand=[10.0, 2.0], review_period=0.0, case_pack=1.0, lead_time_mean=2.0
    )
    rejected = keys.assign(rejected_units=[8, 0], review_units=[0, 0])

    class Package:
        provider = "test"

        def __init__(self, _):
            pass

        def predict(self, table, cumulative=None):
            return cumulative_table

    cumulative_table = cumulative
    seen = {}

    def fake_allocate(demand, stock, supply):
        seen["stock"] = stock.set_index("location_id")["on_hand"].to_dict()
        return pd.DataFrame(columns=["item_id", "location_id", "allocation", "expected_sales"])

    monkeypatch.setattr(demo_plan, "ForecastPackage", Package)
    monkeypatch.setattr(demo_plan, "_inventory", lambda data, rej, config, rng: inventory.copy())
    monkeypatch.setattr(demo_plan, "_positioning", lambda *a: (None, None))
    monkeypatch.setattr(demo_plan, "compare", lambda *a, **k: None)
    monkeypatch.setattr(demo_plan, "allocate", fake_allocate)
    data = types.SimpleNamespace(
        cutoff=pd.Timestamp("2024-01-01"),
        forecast_table=lambda origin, horizon: None,
        actuals=lambda start, days: keys.assign(date=start, demand=1.0),
    )
    config = types.SimpleNamespace(horizon=14, seed=0, holdout_days=7)
    out = demo_plan.planning_step(data, None, rejected, config)
    assert out.plan["inspection_held"].tolist() == [8.0, 0.0]
    assert seen["stock"] == {"FC1": 2.0, "FC2": 2.0}

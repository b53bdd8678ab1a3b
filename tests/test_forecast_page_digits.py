"""The forecast page's plan rounded every number to three decimals: a service level of 0.9995
(a Policy refuses 1) and an expected fill rate of 0.99996 both read 1.0, and a safety stock of
0.0004 read 0. Below 1 it shows six significant digits."""

from __future__ import annotations

import numpy as np
import pandas as pd
from fastapi import FastAPI
from fastapi.testclient import TestClient

from serving.service.pages import pages_router


def test_the_plan_shown_keeps_the_digits_that_matter(tmp_path):
    (tmp_path / "plan").mkdir()
    (tmp_path / "data").mkdir()
    row = {"item_id": "a", "location_id": "x", "demand_mean": 5.0, "review": 7,
           "service_level": 0.9995, "safety_stock": 0.0004, "reorder_point": 1234.56789,
           "order_up_to": 3.0, "order_qty": 2.0, "expected_fill_rate": 0.99996}  # fmt: skip
    pd.DataFrame([row, {**row, "item_id": "b", "expected_fill_rate": np.nan}]).to_parquet(
        tmp_path / "plan" / "plan.parquet"
    )
    dates = pd.DataFrame(
        {"item_id": "a", "location_id": "x", "date": pd.date_range("2025-01-01", periods=3)}
    )
    dates.assign(demand=1.0).to_parquet(tmp_path / "data" / "panel.parquet")
    dates.to_parquet(tmp_path / "plan" / "forecast.parquet")
    dates.assign(rule="plan", on_hand=1.0, unmet=0.0).to_parquet(
        tmp_path / "plan" / "simulation_daily.parquet"
    )
    app = FastAPI()
    app.include_router(pages_router(None, str(tmp_path)))
    client = TestClient(app)
    plan = client.get("/v1/workspace/plan", params={"item_id": "a", "location_id": "x"}).json()
    assert plan["plan"] == {"review": 7, "service_level": 0.9995, "safety_stock": 0.0004,
                            "reorder_point": 1234.568, "order_up_to": 3.0, "order_qty": 2.0,
                            "expected_fill_rate": 0.99996}  # fmt: skip
    other = client.get("/v1/workspace/plan", params={"item_id": "b", "location_id": "x"}).json()
    assert other["plan"]["expected_fill_rate"] is None  # a cycle row with no fill rate

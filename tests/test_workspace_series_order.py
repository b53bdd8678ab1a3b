"""The forecast page lists a workspace's series most forecast demand first: by the forecast's
median demand a day, not by the plan's ``demand_mean``, which is the demand over each row's own
lead time (and review period) and listed a far FC's slower series above a near FC's faster one."""

from __future__ import annotations

import pandas as pd
from fastapi import FastAPI
from fastapi.testclient import TestClient

from serving.service.pages import pages_router

# (item, location, lead time in days, forecast median a day)
SERIES = [("SLOW", "FAR", 5.0, 4.0), ("FAST", "NEAR", 1.0, 10.0), ("MID", "NEAR", 1.0, 6.0)]


def _client(tmp_path, median=True):
    (tmp_path / "plan").mkdir()
    (tmp_path / "data").mkdir()
    plan = pd.DataFrame(
        [{"item_id": i, "location_id": loc, "lead_time_mean": lt, "demand_mean": lt * rate}
         for i, loc, lt, rate in SERIES]
    )  # fmt: skip
    plan.to_parquet(tmp_path / "plan" / "plan.parquet")
    dates = pd.date_range("2025-01-01", periods=4)
    rows = pd.DataFrame(
        [{"item_id": i, "location_id": loc, "date": d, "q0.5": rate}
         for i, loc, _, rate in SERIES for d in dates]
    )  # fmt: skip
    forecast = rows if median else rows.drop(columns="q0.5")
    forecast.to_parquet(tmp_path / "plan" / "forecast.parquet")
    rows.assign(demand=1.0).to_parquet(tmp_path / "data" / "panel.parquet")
    rows.assign(rule="plan", on_hand=3.0, unmet=0.0).to_parquet(
        tmp_path / "plan" / "simulation_daily.parquet"
    )
    app = FastAPI()
    app.include_router(pages_router(None, str(tmp_path)))
    return TestClient(app)


def test_series_are_listed_by_forecast_demand_a_day(tmp_path):
    listed = _client(tmp_path).get("/v1/workspace/series").json()
    # demand_mean (20, 10, 6) listed SLOW first: 4 units a day over a 5-day lead time
    assert [s["item_id"] for s in listed] == ["FAST", "MID", "SLOW"]


def test_a_forecast_without_the_median_lists_by_demand_mean(tmp_path):
    listed = _client(tmp_path, median=False).get("/v1/workspace/series").json()
    assert [s["item_id"] for s in listed] == ["SLOW", "FAST", "MID"]

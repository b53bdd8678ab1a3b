"""/v1/plan answers the numbers kernels.plan computes, every digit: its rows went through
pandas' to_json, which writes 10 decimals (a safety stock of 3.678e-08 units read 3.68e-08, a
reorder point of 2.0545804975e16 read 2.054580498e16, a value below 5e-11 read 0)."""

import json
import math

import pandas as pd
from fastapi.testclient import TestClient

from kernels import Policy, plan
from serving.service.app import create_app


def test_plan_rows_keep_every_digit_of_small_and_large_quantities(tmp_path):
    forecast = [
        {"item_id": "tiny", "location_id": "FC1", "demand_mean": 2e-8, "demand_std": 1e-8},
        {"item_id": "slow", "location_id": "FC1", "demand_mean": 3e-11, "demand_std": 2e-11},
        {"item_id": "huge", "location_id": "FC1", "demand_mean": 3.3e15, "demand_std": 1.1e15},
        {"item_id": "plain", "location_id": "FC1", "demand_mean": 12.0, "demand_std": 4.0},
    ]
    inventory = [
        {"item_id": k["item_id"], "location_id": "FC1", "on_hand": 1e9, "lead_time_mean": 5.0,
         "review_period": 7.0 if k["item_id"] == "plain" else 0.0}
        for k in forecast
    ]  # fmt: skip
    expected = plan(pd.DataFrame(forecast), pd.DataFrame(inventory), Policy())
    with TestClient(create_app(tmp_path)) as client:
        response = client.post("/v1/plan", json={"forecast": forecast, "inventory": inventory})
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert [r["item_id"] for r in rows] == expected["item_id"].tolist()
    for row, (_, want) in zip(rows, expected.iterrows(), strict=True):
        for column in expected.columns:
            value = want[column]
            if isinstance(value, float) and math.isnan(value):
                assert row[column] is None, (row["item_id"], column)  # NaN stays null
            else:
                assert row[column] == value, (row["item_id"], column, row[column], value)
    json.dumps(rows, allow_nan=False)  # plain JSON numbers only

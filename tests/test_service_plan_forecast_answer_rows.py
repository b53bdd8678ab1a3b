"""/v1/plan given /v1/forecast's rows unchanged: one 422 problem saying how to pass them.

The answer's rows hold their quantiles as an object; /v1/plan's 422 listed four pydantic type
errors per row (``forecast.0.quantiles.str: Input should be a valid string``) and nothing of
the shape it wants. Flattened as the README shows, the same rows plan.
"""

from fastapi.testclient import TestClient

from serving.service.app import create_app

ANSWER = [
    {"item_id": "a", "location_id": "x", "date": None, "step": None, "horizon": h, "step_days": 1.0,
     "quantiles": {"q0.1": 3.0 * h, "q0.5": 5.0 * h, "q0.9": 8.0 * h}}
    for h in range(1, 8)
]  # fmt: skip
INVENTORY = [{"item_id": "a", "location_id": "x", "on_hand": 12, "lead_time_mean": 4}]


def test_forecast_answer_rows_get_one_problem_saying_how_to_flatten_them(tmp_path):
    with TestClient(create_app(tmp_path)) as client:
        response = client.post("/v1/plan", json={"forecast": ANSWER, "inventory": INVENTORY})
        assert response.status_code == 422
        (problem,) = response.json()["detail"]  # the service's standard 422 body
        assert problem["field"] == "forecast"
        text = problem["problem"]
        assert text.startswith("rows 0, 1, 2 and 4 more hold a quantiles object")
        assert "one field per quantile level" in text and '"cumulative"' in text
        assert "A forecast answer to /v1/plan" in text
        # The README's recipe: each row's quantiles moved into the row.
        flat = [
            {**{k: v for k, v in r.items() if k != "quantiles"}, **r["quantiles"]} for r in ANSWER
        ]
        response = client.post("/v1/plan", json={"forecast": flat, "inventory": INVENTORY})
        assert response.status_code == 200, response.text
        assert response.json()["rows"][0]["item_id"] == "a"


def test_other_bad_forecast_cells_keep_their_own_problems(tmp_path):
    rows = [{"item_id": "a", "location_id": "x", "demand_mean": [5], "demand_std": 2}]
    with TestClient(create_app(tmp_path)) as client:
        response = client.post("/v1/plan", json={"forecast": rows, "inventory": INVENTORY})
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["detail"]}
    assert fields and all(f.startswith("forecast.0.demand_mean") for f in fields), fields

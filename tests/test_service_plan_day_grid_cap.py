"""/v1/plan cuts each step of a cumulative-quantile forecast into ``policy.step_days`` days, a
setting of the request: a 460-byte request (3 rows, step_days 1e7) held the one plan thread
for 31 s and took 1.9 GB before a MemoryError answered 500 (1e8: ten times that). The day
grid is bounded as the allocation's arrays are: past it a 413 naming its size, before any
plan runs."""

import pytest
from fastapi.testclient import TestClient

import serving.service.app as app_module
from serving.service.app import create_app
from serving.service.config import ServiceConfig

KEYS = {"item_id": "A", "location_id": "F"}


def _body(step_days: float) -> dict:
    levels = {"q0.1": 1.0, "q0.5": 2.0, "q0.9": 3.0}
    forecast = [
        {**KEYS, "horizon": h, **{q: v * h for q, v in levels.items()}} for h in range(1, 7)
    ]
    inventory = [{**KEYS, "on_hand": 3.0, "lead_time_mean": 1.0, "lead_time_std": 0.25}]
    return {
        "forecast": forecast,
        "inventory": inventory,
        "policy": {"step_days": step_days},
    }


@pytest.fixture()
def client(tmp_path):
    (tmp_path / "repo").mkdir()
    with TestClient(create_app(tmp_path / "repo", ServiceConfig(reload_s=60))) as c:
        yield c


def test_a_day_grid_past_the_limit_is_413_naming_it(client, monkeypatch):
    # a small limit: the default (2**25 cells) takes gigabytes to exceed on the old code
    monkeypatch.setattr(app_module, "MAX_DAY_GRID_CELLS", 10_000, raising=False)
    answer = client.post("/v1/plan", json=_body(1000.0))  # 6 x 1000 days x 3 quantiles
    assert answer.status_code == 413, answer.text[:300]
    assert answer.json()["detail"] == (
        "forecast: 1 keys x 6000 days (6 steps of 1000 days) x 3 quantiles = 18000 cells, "
        "more than 10000"
    )


def test_the_default_limit_refuses_a_tiny_request_for_gigabytes(client):
    # checked first: without the limit this request asks for 6e9 days (48 GB)
    assert getattr(app_module, "MAX_DAY_GRID_CELLS", None) == 2**25
    answer = client.post("/v1/plan", json=_body(1e9))
    assert answer.status_code == 413, answer.text[:300]


@pytest.mark.parametrize("step_days", [1.0, 7.0, 365.25 / 12])
def test_daily_weekly_and_monthly_steps_are_planned(client, step_days):
    answer = client.post("/v1/plan", json=_body(step_days))
    assert answer.status_code == 200, answer.text[:300]
    assert len(answer.json()["rows"]) == 1


def test_policy_refuses_a_step_longer_than_a_year():
    # The library and the CLI cut steps into days too: a step is at most a year.
    from kernels import Policy

    assert Policy(step_days=366).step_days == 366
    with pytest.raises(ValueError, match="step_days: expected <= 366"):
        Policy(step_days=1e7)

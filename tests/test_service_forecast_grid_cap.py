"""Every series of a /v1/forecast (or /v1/plan ``series``) request is laid over the whole
table's dates: one series dated two centuries before the others made each series 81,584 days
long. 100 series and that one row set (a 488 kB body) took 9.6 s and 400 MB of grid; 3,000
(under the 16 MiB body limit) some 12 GB. The grid is bounded by the body limit (a cell per
8 bytes it may hold): past it, a 413 naming the series, periods and dates, before any grid."""

import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from forecasting import Forecaster
    from forecasting.synthetic import generate_network
    from serving.export import export_run
    from serving.service.app import create_app
    from serving.service.config import ServiceConfig
    from training import TrainConfig

    root = tmp_path_factory.mktemp("grid_cells")
    net = generate_network(n_items=3, n_locations=1, n_days=60, seed=7, future_days=14)
    train = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=8, progress_bar=False)
    forecaster = Forecaster("lstm", 7, spec=net.spec, train=train, hidden_size=4)
    forecaster.fit(net.to_frame(), run_dir=root / "run")
    export_run(root / "run", root / "repo")
    # 1 MiB bodies: a grid of at most 131,072 cells
    config = ServiceConfig(reload_s=60, max_body_mb=1.0)
    with TestClient(create_app(root / "repo", config)) as client:
        yield client, net.to_frame()


def _rows(panel: pd.DataFrame, old_start: str | None) -> list[dict]:
    recent = panel.groupby(["item_id", "location_id"], observed=True).tail(21)
    frames = [recent]
    if old_start is not None:
        first = recent[recent["item_id"] == recent["item_id"].iloc[0]].head(15).copy()
        first["item_id"], first["date"] = "OLD", pd.date_range(old_start, periods=15)
        first["demand"] = [1.0] + [np.nan] * 14
        frames.append(first)
    frame = pd.concat(frames, ignore_index=True)
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    return json.loads(
        frame.astype({c: str for c in frame.select_dtypes("category")}).to_json(orient="records")
    )


def test_a_series_two_centuries_old_is_413_before_its_grid(served):
    client, panel = served
    answer = client.post("/v1/forecast", json={"rows": _rows(panel, "1800-01-01")})
    assert answer.status_code == 413, answer.text[:300]
    detail = answer.json()["detail"]
    assert detail.startswith("rows: 4 series x ") and "1800-01-01" in detail
    assert "more than 131,072" in detail


def test_the_same_series_without_it_are_forecast(served):
    client, panel = served
    answer = client.post("/v1/forecast", json={"rows": _rows(panel, None)})
    assert answer.status_code == 200, answer.text[:300]
    assert len(answer.json()["rows"]) == 3 * 7


def test_plan_series_are_bounded_too(served):
    client, panel = served
    inventory = [{"item_id": i, "location_id": "FC000", "on_hand": 5.0, "lead_time_mean": 2.0}
                 for i in ("SKU000000", "SKU000001", "SKU000002", "OLD")]  # fmt: skip
    body = {"series": _rows(panel, "1800-01-01"), "inventory": inventory}
    answer = client.post("/v1/plan", json=body)
    assert answer.status_code == 413, answer.text[:300]
    assert answer.json()["detail"].startswith("series: 4 series x ")

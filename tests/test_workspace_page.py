"""A workspace table without a column the forecast page reads is a 4xx naming the file and the
column (it was a bare 500 'internal error'); a forecast without the median still charts; the
simulated on-hand is drawn in date order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from matplotlib.figure import Figure

from serving.service.app import create_app
from serving.service.config import ServiceConfig
from serving.service.pages import _chart

FILES = {
    "plan": "plan/plan.parquet",
    "forecast": "plan/forecast.parquet",
    "daily": "plan/simulation_daily.parquet",
    "panel": "data/panel.parquet",
}


def _workspace_files(root):
    (root / "plan").mkdir(parents=True)
    (root / "data").mkdir()
    (root / "models").mkdir()
    keys = {"item_id": "SKU1", "location_id": "FC1"}
    dates = pd.date_range("2024-03-01", periods=14)
    pd.DataFrame(
        [{**keys, "demand_mean": 5.0, "reorder_point": 20.0, "order_qty": 40.0}]
    ).to_parquet(root / FILES["plan"])
    forecast = pd.DataFrame({**keys, "date": dates[7:], "step": range(1, 8)})
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        forecast[f"q{q:g}"] = 5.0 * (0.5 + q)
    forecast.to_parquet(root / FILES["forecast"])
    pd.DataFrame({**keys, "date": dates, "demand": np.arange(14.0)}).to_parquet(
        root / FILES["panel"]
    )
    pd.DataFrame(
        {**keys, "date": dates[7:], "on_hand": 3.0, "unmet": 0.0, "rule": "plan"}
    ).to_parquet(root / FILES["daily"])
    return root


CASES = [
    ("plan", "item_id"), ("plan", "location_id"), ("plan", "demand_mean"),
    ("forecast", "item_id"), ("forecast", "date"),
    ("panel", "location_id"), ("panel", "demand"), ("panel", "date"),
    ("daily", "rule"), ("daily", "unmet"), ("daily", "on_hand"),
]  # fmt: skip


@pytest.mark.parametrize(("table", "column"), CASES)
def test_a_workspace_table_without_a_column_is_named(tmp_path, table, column):
    root = _workspace_files(tmp_path / "run")
    path = root / FILES[table]
    pd.read_parquet(path).drop(columns=column).to_parquet(path)
    app = create_app(root / "models", ServiceConfig(workspace=str(root), reload_s=60))
    ids = {"item_id": "SKU1", "location_id": "FC1"}
    with TestClient(app, raise_server_exceptions=False) as client:
        answers = [client.get("/v1/workspace/series"),
                   client.get("/v1/workspace/plan", params=ids),
                   client.get("/v1/workspace/chart.png", params=ids)]  # fmt: skip
    for answer in answers:
        assert 400 <= answer.status_code < 500, (answer.url, answer.status_code, answer.text)
        assert column in answer.json()["detail"] and FILES[table] in answer.json()["detail"]


def test_a_forecast_without_the_median_still_charts(tmp_path):
    root = _workspace_files(tmp_path / "run")
    path = root / FILES["forecast"]
    pd.read_parquet(path).drop(columns="q0.5").to_parquet(path)
    app = create_app(root / "models", ServiceConfig(workspace=str(root), reload_s=60))
    ids = {"item_id": "SKU1", "location_id": "FC1"}
    with TestClient(app, raise_server_exceptions=False) as client:
        chart = client.get("/v1/workspace/chart.png", params=ids)
        plan = client.get("/v1/workspace/plan", params=ids)
    assert chart.status_code == 200 and chart.content[:4] == b"\x89PNG", chart.text
    assert plan.status_code == 200 and plan.json()["plan"]["reorder_point"] == 20.0


def _keep_drawn_figure(monkeypatch) -> dict:
    """``{"figure": the last Figure saved}``, filled as the page's chart is drawn."""
    drawn = {}
    save = Figure.savefig

    def keep(self, *args, **kwargs):
        drawn["figure"] = self
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    return drawn


def test_the_simulated_on_hand_is_drawn_in_date_order(monkeypatch):
    drawn = _keep_drawn_figure(monkeypatch)
    keys = {"item_id": "SKU1", "location_id": "FC1"}
    dates = pd.date_range("2024-03-01", periods=14)
    forecast = pd.DataFrame({**keys, "date": dates[7:], "q0.5": 2.0})
    panel = pd.DataFrame({**keys, "date": dates, "demand": 1.0})
    rules = ["plan"] * 7 + ["weeks_of_supply"] * 7
    daily = pd.DataFrame({**keys, "date": list(dates[7:]) * 2, "on_hand": np.arange(14.0),
                          "unmet": 0.0, "rule": rules})  # fmt: skip
    shuffled = daily.sample(frac=1.0, random_state=3)
    rows = {"plan": pd.DataFrame([keys]), "forecast": forecast, "panel": panel, "daily": shuffled}
    assert _chart(rows, "SKU1", "FC1")[:4] == b"\x89PNG"
    bottom = drawn["figure"].axes[1]
    lines = {line.get_label(): line for line in bottom.get_lines()}
    for rule, expected in daily.groupby("rule"):
        x, y = lines[rule].get_data()
        assert np.array_equal(pd.to_datetime(x).values, expected["date"].values)
        assert np.array_equal(np.asarray(y), expected["on_hand"].to_numpy())


def test_the_chart_axes_name_what_they_plot_and_its_unit(monkeypatch):
    drawn = _keep_drawn_figure(monkeypatch)
    keys = {"item_id": "SKU1", "location_id": "FC1"}
    dates = pd.date_range("2024-03-01", periods=6)
    rows = {"plan": pd.DataFrame([keys]),
            "forecast": pd.DataFrame({**keys, "date": dates[3:], "q0.5": 2.0}),
            "panel": pd.DataFrame({**keys, "date": dates, "demand": 1.0}),
            "daily": pd.DataFrame({**keys, "date": dates[3:], "on_hand": 3.0, "unmet": 0.0,
                                   "rule": "plan"})}  # fmt: skip
    _chart(rows, "SKU1", "FC1")
    top, bottom = drawn["figure"].axes[:2]
    assert "demand" in top.get_ylabel() and "units" in top.get_ylabel()
    assert "on hand" in bottom.get_ylabel() and "units" in bottom.get_ylabel()

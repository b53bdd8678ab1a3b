"""Observed-only reals (page views) are known up to a series' forecast origin: a value that a
prediction table holds on a future row (a page-view forecast, or views recorded after the last
reported demand) must not change the forecast, on the torch path, the package or the service,
as it does not in a backtest (test_backtest_inputs.py)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from forecasting import Forecaster, PanelSpec
from forecasting.synthetic import generate_network
from serving.export import export_run
from serving.runtime import ForecastPackage
from serving.service.app import create_app
from serving.service.config import ServiceConfig
from training import TrainConfig

H = 7
SPEC = PanelSpec(
    static_categoricals=("category",), known_reals=("price",), observed_reals=("views",)
)


@pytest.fixture(scope="module")
def views_run(tmp_path_factory):
    frame = generate_network(6, 2, 120, seed=3, cold_start_fraction=0.0, future_days=H).to_frame()
    rng = np.random.default_rng(0)
    frame["views"] = (frame["demand"] * 10 + rng.normal(0, 5, len(frame))).where(
        frame["demand"].notna()
    )
    root = tmp_path_factory.mktemp("views")
    train = TrainConfig(max_epochs=1, batches_per_epoch=3, batch_size=16, progress_bar=False)
    forecaster = Forecaster("lstm", H, spec=SPEC, train=train, hidden_size=8)
    forecaster.fit(frame, run_dir=root / "run")
    package = export_run(root / "run", root / "repo")
    return frame, forecaster, package, root / "repo"


def _future_views(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with page views filled in on every future row (demand empty)."""
    changed = frame.copy()
    future = changed["demand"].isna()
    changed.loc[future, "views"] = 1000.0
    return changed


def test_views_on_future_rows_do_not_change_the_forecast(views_run):
    frame, forecaster, package, _ = views_run
    runtime = ForecastPackage(package)
    changed = _future_views(frame)
    for predict in (forecaster.predict, runtime.predict):
        before, after = predict(frame), predict(changed)
        q = [c for c in before.columns if c.startswith("q")]
        np.testing.assert_allclose(after[q].to_numpy(), before[q].to_numpy(), rtol=0, atol=1e-5)


def test_views_after_a_series_last_demand_do_not_change_its_forecast(views_run):
    """One series' demand is reported a day later than the others' while its views are not:
    its forecast starts a day earlier and the views of that day are past its origin."""
    frame, _, package, _ = views_run
    runtime = ForecastPackage(package)
    one = (frame["item_id"] == frame["item_id"].iloc[0]) & (
        frame["location_id"] == frame["location_id"].iloc[0]
    )
    last = frame.loc[frame["demand"].notna(), "date"].max()
    late = frame.copy()
    late.loc[one & (late["date"] == last), "demand"] = np.nan  # views of that day kept
    blank = late.copy()
    blank.loc[one & (blank["date"] == last), "views"] = np.nan
    a, b = runtime.predict(late), runtime.predict(blank)
    q = [c for c in a.columns if c.startswith("q")]
    np.testing.assert_allclose(a[q].to_numpy(), b[q].to_numpy(), rtol=0, atol=1e-5)


def test_the_service_forecast_ignores_views_on_future_rows(views_run):
    frame, _, _, repo = views_run
    few = frame[frame["item_id"].isin(frame["item_id"].unique()[:2])]

    def rows(table):
        table = table.assign(date=table["date"].dt.strftime("%Y-%m-%d"))
        return json.loads(table.to_json(orient="records"))

    with TestClient(create_app(repo, ServiceConfig(reload_s=60))) as client:
        answers = [
            client.post("/v1/forecast", json={"rows": rows(t)}) for t in (few, _future_views(few))
        ]
    assert all(r.status_code == 200 for r in answers), answers[0].text
    before, after = ([row["quantiles"]["q0.5"] for row in r.json()["rows"]] for r in answers)
    np.testing.assert_allclose(after, before, rtol=0, atol=1e-5)

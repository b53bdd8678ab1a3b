"""The demo's report on a user's table (`stockcast demo --data ...`) described the panel as the
embedded network's: "Daily demand per SKU x FC with prices, promotions, events and FC weather
forecasts", for a table of keys, dates and units only. It names what the table declared."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.spec import PanelSpec
from serving.demo.config import DemoConfig
from serving.demo.data import users_table
from serving.demo.report import _network
from serving.report import Report


def _page(tmp_path, **roles) -> str:
    days = pd.date_range("2024-01-01", periods=120, freq="D")
    rng = np.random.default_rng(0)
    table = pd.concat(
        pd.DataFrame({"sku": sku, "fc": "FC1", "day": days.strftime("%Y-%m-%d"),
                      "units": rng.poisson(4, len(days)), "cost": 2.5})
        for sku in ("A", "B")
    )  # fmt: skip
    path = tmp_path / "sales.csv"
    table.to_csv(path, index=False)
    spec = PanelSpec(item_col="sku", location_col="fc", date_col="day", target_col="units", **roles)
    config = DemoConfig(holdout_weeks=4, horizon=14)
    report = Report("t")
    _network(report, users_table(path, spec, config), config)
    return report.html()


def test_the_report_describes_a_users_table_not_the_embedded_network(tmp_path):
    page = _page(tmp_path)
    assert "weather" not in page and "promotions" not in page
    assert "no covariates" in page


def test_the_report_names_the_covariates_the_table_declared(tmp_path):
    page = _page(tmp_path, known_reals=("cost",))
    assert "weather" not in page
    assert "known reals: cost" in page

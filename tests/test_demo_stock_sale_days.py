"""The demo sizes each SKU x FC's starting stock and its ABC class by units per day over the
weeks before the cutoff. A table of sale days (``--gaps zero``: a day without a row sold
nothing) was averaged over its rows alone, so a SKU selling 7 units every Monday read as 7 a
day: it started with seven times the stock of one selling 1 every day, and ranked above it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.spec import PanelSpec
from serving.demo.config import DemoConfig
from serving.demo.data import RECENT_DAYS, users_table
from serving.demo.plan import _inventory


def test_a_table_of_sale_days_is_planned_at_its_units_per_day(tmp_path):
    dates = pd.date_range("2024-01-01", periods=200, freq="D")
    held = dates[-14:]  # the held-back weeks give every day, as the demo asks
    rows = [
        {"sku": "weekly", "fc": "F1", "day": d, "units": 7.0 * (d.dayofweek == 0)}
        for d in dates
        if d.dayofweek == 0 or d in held
    ]
    rows += [{"sku": "daily", "fc": "F1", "day": d, "units": 1.0} for d in dates]  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "sales.csv", index=False)
    spec = PanelSpec(item_col="sku", location_col="fc", date_col="day", target_col="units",
                     gaps="zero")  # fmt: skip
    config = DemoConfig(holdout_weeks=2, progress=False)
    data = users_table(tmp_path / "sales.csv", spec, config)
    inventory = _inventory(data, None, config, np.random.default_rng(0)).set_index("item_id")
    # Both sold 28 units over the 28 days before the cutoff (four Mondays of 7; 28 days of 1):
    # one unit a day, times the days of stock the demo draws (uniform 3..15, in row order).
    assert RECENT_DAYS == 28
    days_of_stock = np.random.default_rng(0).uniform(3, 15, 2)
    expected = np.ceil(1.0 * days_of_stock)
    assert inventory.loc[["daily", "weekly"], "on_hand"].tolist() == expected.tolist()
    # The same units per day (no price column: ranked by units) share a class.
    assert inventory.loc["weekly", "segment"] == inventory.loc["daily", "segment"] == "A"

"""`stockcast demo --data` on a table with a discontinued SKU (its rows end weeks before the
held-back weeks): the demo plans the series sold before the cutoff, so the forecast tables it
builds for the plan and the monitor must leave the ended series out. They kept it, without a
single future row, and the champion package refused the whole demo after training:
"price: the horizon of 14 periods is longer than the known covariates ... (add future rows
with these columns filled) (e.g. OLD@FC1)", for a table that had nothing to add."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting.spec import PanelSpec
from serving.demo.config import DemoConfig
from serving.demo.data import users_table


def test_a_discontinued_sku_is_not_forecast_from_the_cutoff(tmp_path):
    days = pd.date_range("2024-01-01", periods=200, freq="D")
    rng = np.random.default_rng(0)
    frames = []
    for sku, end in [("A", 200), ("B", 200), ("OLD", 120)]:  # OLD stops 80 days before the end
        frames.append(pd.DataFrame({
            "sku": sku, "fc": "FC1", "day": days[:end].strftime("%Y-%m-%d"),
            "units": rng.poisson(5, end), "price": 2.5,
        }))  # fmt: skip
    path = tmp_path / "sales.csv"
    pd.concat(frames).to_csv(path, index=False)
    spec = PanelSpec(item_col="sku", location_col="fc", date_col="day", target_col="units",
                     known_reals=("price",))  # fmt: skip
    config = DemoConfig(holdout_weeks=4, horizon=14)
    data = users_table(path, spec, config)

    for origin in (data.cutoff, data.cutoff + pd.Timedelta(days=14)):  # the plan's, the monitor's
        table = data.forecast_table(origin, config.horizon)
        assert sorted(table["item_id"].unique()) == ["A", "B"]
        future = table[table["date"] >= origin]
        # every series forecast has the known covariates of each day of its horizon
        assert (future.groupby("item_id")["price"].count() == config.horizon).all()

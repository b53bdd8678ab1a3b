"""A table of sale days (``--gaps zero``: a day without a row sold nothing) in the demo: split
at the cutoff, a series whose last sale came days before it ended there in the training table,
so the plan forecast it from the day after that sale (its whole horizon before the cutoff: a
weekly seller's lead-time demand dated 2024-09-14..27 for a cutoff of 09-29) and the backtest
scored it in no metric. The days without a row are the panel's zero-demand days."""

from __future__ import annotations

import pandas as pd

from forecasting.spec import PanelSpec
from serving.demo.config import DemoConfig
from serving.demo.data import users_table


def test_sale_days_are_the_series_history_up_to_the_cutoff(tmp_path):
    dates = pd.date_range("2024-01-01", periods=120, freq="D")
    held = dates[-14:]  # every held-back day given, as the demo asks
    rows = [
        {"sku": "weekly", "fc": "F1", "day": d, "units": 7.0 * (d.dayofweek == 0),
         "price": 2.0 + (d >= dates[50])}
        for d in dates
        if d.dayofweek == 0 or d in held
    ]  # fmt: skip
    rows += [{"sku": "daily", "fc": "F1", "day": d, "units": 1.0, "price": 1.0} for d in dates]
    pd.DataFrame(rows).to_csv(tmp_path / "sales.csv", index=False)
    spec = PanelSpec(item_col="sku", location_col="fc", date_col="day", target_col="units",
                     known_reals=["price"], gaps="zero")  # fmt: skip
    config = DemoConfig(holdout_weeks=2, horizon=7, progress=False)
    data = users_table(tmp_path / "sales.csv", spec, config)
    assert data.cutoff == held[0]
    weekly = data.train[data.train["item_id"] == "weekly"].set_index("date")
    # Every day from its first sale to the day before the cutoff, the days without a row at 0
    # units and the price of the day before; the units sold unchanged.
    assert weekly.index.tolist() == list(pd.date_range(dates[0], held[0] - pd.Timedelta(days=1)))
    assert weekly["demand"].sum() == 7.0 * sum(d.dayofweek == 0 for d in dates[:-14])
    assert (weekly.loc[weekly.index.dayofweek != 0, "demand"] == 0).all()
    sold = [d - pd.Timedelta(days=d.dayofweek) for d in weekly.index]  # its latest row's day
    assert (weekly["price"] == [2.0 + (d >= dates[50]) for d in sold]).all()
    # The plan's forecast table: both series' history reaches the day before the cutoff.
    table = data.forecast_table(data.cutoff, config.horizon)
    history = table[table["demand"].notna()].groupby("item_id", observed=True)["date"].max()
    assert (history == data.cutoff - pd.Timedelta(days=1)).all()

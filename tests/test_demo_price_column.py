"""The demo ranks its ABC segments by revenue with the price column the user names: it read a
column literally called `price`, so a table whose price is `sell_price` (M5's name) was ranked
by units without a word, and a SKU selling 1 unit a day at 100 came after one selling 10 at 1."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting.spec import PanelSpec
from serving.demo.config import DemoConfig
from serving.demo.data import users_table
from serving.demo.plan import _inventory


def _table(path):
    dates = pd.date_range("2024-01-01", periods=200, freq="D")
    rows = [{"sku": sku, "fc": "F1", "day": d, "units": units, "sell_price": price}
            for sku, units, price in (("cheap", 10.0, 1.0), ("dear", 1.0, 100.0),
                                      ("mid", 3.0, 10.0))
            for d in dates]  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    return PanelSpec(item_col="sku", location_col="fc", date_col="day", target_col="units",
                     known_reals=["sell_price"])  # fmt: skip


def _segments(config, data):
    inventory = _inventory(data, None, config, np.random.default_rng(0))
    return dict(zip(inventory["item_id"], inventory["segment"]))


def test_segments_rank_by_revenue_with_the_named_price(tmp_path):
    spec = _table(tmp_path / "sales.csv")
    config = DemoConfig(holdout_weeks=2, price_col="sell_price", explicit=("price_col",))
    segments = _segments(config, users_table(tmp_path / "sales.csv", spec, config))
    assert segments["dear"] == "A" and segments["cheap"] != "A"
    by_units = DemoConfig(holdout_weeks=2)  # no `price` column: units, as documented
    segments = _segments(by_units, users_table(tmp_path / "sales.csv", spec, by_units))
    assert segments["cheap"] == "A" and segments["dear"] != "A"


def test_a_price_column_the_table_does_not_declare_is_refused(tmp_path):
    spec = _table(tmp_path / "sales.csv")
    config = DemoConfig(holdout_weeks=2, price_col="cost", explicit=("price_col",))
    with pytest.raises(ValueError, match="price_col: 'cost'"):
        users_table(tmp_path / "sales.csv", spec, config)


def test_the_embedded_network_refuses_a_price_column_it_lacks():
    """`stockcast demo --price-col cost` on the embedded network (whose price is `price`)
    ranked the segments by units without a word: 24 of the quick network's 72 SKU x FCs
    changed class, so their service levels with them. The table's way is the error above."""
    from serving.demo.data import embedded

    small = {"items": 3, "locations": 1, "days": 120, "holdout_weeks": 2, "progress": False}
    for config in (DemoConfig(**small, price_col="cost", explicit=("price_col",)),
                   DemoConfig(**small, price_col="cost")):  # fmt: skip
        with pytest.raises(ValueError, match="price_col: 'cost' is not one of"):
            embedded(config)
    named = DemoConfig(**small, price_col="price", explicit=("price_col",))
    assert embedded(named).frame["price"].notna().all()  # its own price is accepted

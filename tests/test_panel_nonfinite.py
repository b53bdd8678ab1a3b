"""Demand and real covariates past float32's range or infinite are refused by name.

A demand past float32's range (1e39) passed the infinite-values check (made in float64),
became infinite in float32 and was then read as a missing period: the forecast was the one of a
series with a 0 there, without a word.

An infinite known real (a price of inf, or 1e39 past float32) was read as a missing one: in
the history forward filled with the previous price (a forecast as if it were that price, no
word), in the horizon reported as 'the horizon is longer than the known covariates'.
"""

import numpy as np
import pandas as pd
import pytest

from forecasting.spec import PanelSpec
from forecasting.validate import PanelError, validate_panel

DEMAND_SPEC = PanelSpec(freq="D", calendar=False)


def _demand_panel(value):
    dates = pd.date_range("2024-01-01", periods=30)
    demand = np.arange(30.0) % 5
    demand[20] = value
    return pd.DataFrame({"item_id": "A", "location_id": "L", "date": dates, "demand": demand})


@pytest.mark.parametrize("value", [1e39, 1e308])
def test_demand_beyond_float32_is_refused_naming_the_column(value):
    with pytest.raises(PanelError, match="demand"):
        validate_panel(_demand_panel(value), DEMAND_SPEC)


def test_large_demand_inside_float32_is_kept():
    clean = validate_panel(_demand_panel(3e38), DEMAND_SPEC)
    clean = clean[0] if isinstance(clean, tuple) else clean
    assert float(clean["demand"].max()) == pytest.approx(3e38, rel=1e-6)


PRICE_SPEC = PanelSpec(freq="D", calendar=False, known_reals=("price",))


def _price_panel(value, at=20):
    dates = pd.date_range("2024-01-01", periods=30)
    price = np.full(30, 9.5)
    price[at] = value
    demand = (np.arange(30.0) % 5).astype(object)
    demand[25:] = None  # future rows
    return pd.DataFrame({"item_id": "A", "location_id": "L", "date": dates,
                         "demand": demand.astype(float), "price": price})  # fmt: skip


@pytest.mark.parametrize("value", [np.inf, -np.inf, 1e39])
@pytest.mark.parametrize("at", [20, 27])
def test_an_infinite_known_real_is_refused_naming_the_column(value, at):
    with pytest.raises(PanelError, match="price") as error:
        validate_panel(_price_panel(value, at), PRICE_SPEC)
    assert "infinite" in str(error.value)


def test_a_missing_known_real_in_the_history_is_still_filled():
    clean, _ = validate_panel(_price_panel(np.nan), PRICE_SPEC)
    assert np.isfinite(clean["price"].to_numpy()[:25]).all()

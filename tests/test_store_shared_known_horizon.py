"""A known real stored once for several series (a shared row: a price per item) limits the
horizon as a series' own row does: a price missing on a future period inside the horizon is
refused, not carried forward from the last price."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting import PanelSpec
from forecasting.store import PanelStore
from forecasting.validate import PanelError

S, HISTORY, FUTURE = 3, 20, 5


def _store(price: np.ndarray, rows) -> PanelStore:
    dates = pd.date_range("2024-01-01", periods=HISTORY + FUTURE, freq="D")
    target = np.full((S, HISTORY + FUTURE), np.nan, np.float32)
    target[:, :HISTORY] = 3.0
    keys = pd.DataFrame({"item_id": [f"i{s}" for s in range(S)], "location_id": "L"})
    spec = PanelSpec(freq="D", known_reals=("price",), calendar=False)
    return PanelStore.from_arrays(spec, dates, target, keys, known_real=[(price.copy(), rows)])


def _price(missing: slice) -> np.ndarray:
    price = np.linspace(9.0, 11.0, HISTORY + FUTURE, dtype=np.float32)[None, :, None]
    price = np.repeat(price, S, axis=0)
    price[1, missing] = np.nan
    return price


@pytest.mark.parametrize("rows", [None, np.arange(S), np.array([0, 1, 1])])
@pytest.mark.parametrize("missing", [slice(HISTORY + 2, None), slice(HISTORY + 2, HISTORY + 3)])
def test_a_missing_future_price_limits_the_horizon(rows, missing):
    """Series 1's price row lacks the third future period (to the end, or that one alone):
    a 5-period horizon is refused for it whether the row is its own or shared; 2 periods fit."""
    store = _store(_price(missing), rows)
    series, origins = torch.arange(S), torch.full((S,), HISTORY)
    store.check_horizon(series, origins, 2)
    with pytest.raises(PanelError, match="longer than the known covariates"):
        store.check_horizon(series, origins, 5)


def test_a_complete_shared_price_row_covers_the_horizon():
    store = _store(_price(slice(0, 0)), np.array([0, 0, 2]))
    store.check_horizon(torch.arange(S), torch.full((S,), HISTORY), FUTURE)

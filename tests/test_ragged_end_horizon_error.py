"""A series whose latest rows are not loaded yet (its demand stops 3 days before the others')
is forecast from the period after its own last observed demand, so its known covariates must
start there. Its future rows were present, yet the error said only "add future rows with these
columns filled (e.g. B@L0)", and the ended-early warning that explains the earlier origin is
raised after this check, so it never showed: the error names where the series' forecast
starts and how far its covariates reach."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster
from forecasting.spec import PanelSpec
from forecasting.validate import PanelError

H = 7


def _table(b_missing: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2023-01-02", periods=60 + H, freq="D")
    rows = []
    for item in ("A", "B"):
        for i, day in enumerate(dates):
            if item == "B" and 60 - b_missing <= i < 60:
                continue  # B's latest history rows are not loaded yet
            demand = float(rng.poisson(5)) if i < 60 else np.nan
            rows.append((item, "L0", day, demand, 2.0))
    return pd.DataFrame(rows, columns=["item_id", "location_id", "date", "demand", "price"])


def test_the_error_says_where_a_ragged_series_is_forecast_from():
    spec = PanelSpec(known_reals=("price",))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecaster = Forecaster("seasonal_naive", H, spec=spec).fit(_table(0))
        assert len(forecaster.predict(_table(0))) == 2 * H
        with pytest.raises(PanelError) as refused:
            forecaster.predict(_table(3))
    message = str(refused.value)
    # B's last observed day is 2023-02-27 (day 57 of 60): forecast from 2023-02-28, its
    # covariates stop there too (its future rows start on 2023-03-03)
    assert "B@L0 forecast from 2023-02-28, covariates filled up to 2023-02-27" in message
    assert "A@L0" not in message
    assert "forecast start: the period after its last observed demand" in message

"""A segment that sold nothing over its backtest windows while the forecast expected demand
shows that over-forecast: its WAPE and bias are +inf, as the monitor scores it, not NaN (which
read as a segment without data in the bias table). A forecast of zero there stays NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting import PanelSpec
from forecasting.backtest import backtest
from forecasting.metrics import aggregate
from forecasting.models import MovingAverage
from forecasting.store import PanelStore
from forecasting.validate import validate_panel


def test_a_segment_that_stopped_selling_is_an_infinite_over_forecast():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=60)
    busy = rng.poisson(3, 60).astype(float)
    quiet = np.r_[rng.poisson(2, 40), np.zeros(20)].astype(float)  # stopped selling
    frame = pd.concat(
        pd.DataFrame(
            {"item_id": item, "location_id": "FC1", "date": dates, "demand": demand,
             "category": item}
        )
        for item, demand in (("busy", busy), ("quiet", quiet))
    )  # fmt: skip
    spec = PanelSpec(static_categoricals=("category",), calendar=False)
    store = PanelStore.from_frame(validate_panel(frame, spec)[0], spec)
    result = backtest(store, [MovingAverage(7)], 7, n_origins=2, progress=False)
    quiet_rows = result.windows[result.windows["category"] == "quiet"]
    assert quiet_rows["actual"].sum() == 0 and quiet_rows["signed_error"].sum() > 0
    row = result.metrics.set_index(["segment_type", "segment"]).loc[("category", "quiet")]
    # Before: WAPE and bias NaN, as for a segment without any data.
    assert row["wape"] == np.inf and row["bias"] == np.inf
    assert result.bias_by_segment().loc[("category", "quiet"), "moving_average"] == np.inf
    overall = result.overall().loc["moving_average"]
    assert np.isfinite(overall["wape"]) and np.isfinite(overall["bias"])


def test_zero_demand_windows_keep_their_sign_and_an_exact_zero_forecast_has_none():
    under = pd.DataFrame({"abs_error": [2.0], "actual": [0.0], "signed_error": [-2.0],
                          "mase": [np.nan], "sql": [np.nan]})  # fmt: skip
    assert aggregate(under)["bias"] == -np.inf and aggregate(under)["wape"] == np.inf
    exact = under.assign(abs_error=0.0, signed_error=0.0)
    assert np.isnan(aggregate(exact)["wape"]) and np.isnan(aggregate(exact)["bias"])

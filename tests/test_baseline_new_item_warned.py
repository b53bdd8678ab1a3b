"""A baseline's lead-time table warns of a new item (only future rows, no demand yet): it has
no history and no errors of its sums, and its quantiles are 0 at every level. Its start (0,
no observation) read as history back to the table's first period, and nothing was said."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster, PanelSpec


@pytest.mark.parametrize("model", ["seasonal_naive", "moving_average"])
def test_new_item_is_named_in_the_lead_time_warning(model):
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=127)
    old = pd.DataFrame({"item_id": "old", "location_id": "fc", "date": dates[:120]})
    old["demand"] = rng.poisson(5, len(old)).astype(float)
    new = pd.DataFrame({"item_id": "new", "location_id": "fc", "date": dates[120:]})
    new["demand"] = np.nan
    panel = pd.concat([old, new], ignore_index=True)
    fitted = Forecaster(model, 7, spec=PanelSpec(freq="D")).fit(panel)
    with pytest.warns(UserWarning, match=r"1 of 2 series have less than \d+ periods.*new @ fc"):
        lead = fitted.predict(panel, cumulative=7)
    levels = [c for c in lead.columns if c.startswith("q")]
    assert (lead[lead["item_id"] == "new"][levels].to_numpy() == 0).all()

"""A negative binomial head refuses fractional demand, naming the first value. The README
promises errors about a user's table in their column names; this one named the canonical
`item_id=..., location_id=...` for a table keyed by `sku` and `fc`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster, PanelSpec
from training import TrainConfig


def test_fractional_demand_is_named_in_the_users_columns():
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    table = pd.DataFrame({"sku": "A1", "fc": "F9", "day": days.strftime("%Y-%m-%d"),
                          "kg": np.full(len(days), 0.3)})  # fmt: skip
    spec = PanelSpec(item_col="sku", location_col="fc", date_col="day", target_col="kg")
    train = TrainConfig(max_epochs=1, batches_per_epoch=1, progress_bar=False)
    forecaster = Forecaster(
        "lstm", horizon=7, spec=spec, train=train, distribution="negative_binomial"
    )
    with pytest.raises(ValueError, match="fractional") as error:
        forecaster.fit(table)
    message = str(error.value)
    assert "sku='A1'" in message and "fc='F9'" in message
    assert "item_id=" not in message and "location_id=" not in message

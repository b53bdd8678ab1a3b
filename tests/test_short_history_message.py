"""A table too short for a training window says what it has against what it needs: the error
named "the cutoff", an internal validation origin no user gave, and neither how many periods
the data had nor how many were needed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster
from training import TrainConfig

FAST = TrainConfig(
    max_epochs=1, batches_per_epoch=1, batch_size=8, progress_bar=False, accelerator="cpu"
)


def test_too_short_a_history_names_the_periods_needed_and_had():
    dates = pd.date_range("2024-01-01", periods=25, freq="D")
    table = pd.DataFrame({"item_id": "A", "location_id": "F", "date": dates,
                          "demand": np.arange(25.0) % 5})  # fmt: skip
    forecaster = Forecaster("lstm", horizon=14, train=FAST, hidden_size=8)
    with pytest.raises(ValueError, match="no training window fits") as caught:
        forecaster.fit(table)
    message = str(caught.value)
    # 25 days, the last 14 held out for validation: 11 before the cutoff, 2024-01-11
    assert "2024-01-11" in message and "the longest has 11 there" in message
    assert "in all" in message

"""`forecast interpret` explains the forecasts `forecast predict` makes: a table whose known
covariates stop at the history (no future rows) is refused as predict refuses it. It was
interpreted with blank future covariates: importances and attention of forecasts that cannot
be made (attention on the first step 0.16 instead of 0.10 in the audit's run)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster, PanelSpec
from forecasting.validate import PanelError
from training import TrainConfig

H = 7


pytestmark = pytest.mark.slow  # fits a TFT (about 4 CPU-seconds)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    n, history = 6, 40
    dates = pd.date_range("2024-01-01", periods=history + H, freq="D")
    promo = rng.integers(0, 2, size=(n, len(dates))).astype(float)
    demand = 10 * promo
    demand[:, history:] = np.nan  # the horizon's rows carry the promotions only
    frame = pd.DataFrame(
        {
            "item_id": np.repeat([f"A{i}" for i in range(n)], len(dates)),
            "location_id": "L",
            "date": np.tile(dates, n),
            "demand": demand.ravel(),
            "promo": promo.ravel(),
        }
    )
    spec = PanelSpec(freq="D", known_reals=("promo",), calendar=False, key_embeddings=False)
    train = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=16, progress_bar=False)
    forecaster = Forecaster("tft", H, spec=spec, train=train, hidden_size=8, encoder_length=14)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecaster.fit(frame)
    return forecaster, frame


def test_interpret_refuses_a_table_predict_refuses(fitted):
    forecaster, frame = fitted
    history = frame[frame["demand"].notna()]
    with pytest.raises(PanelError, match="longer than the known covariates") as refused:
        forecaster.predict(history)
    with pytest.raises(PanelError, match="longer than the known covariates") as got:
        forecaster.interpret(history)
    assert str(got.value) == str(refused.value)


def test_interpret_reads_a_table_with_the_horizon(fitted):
    forecaster, frame = fitted
    importance, attention = forecaster.interpret(frame)
    sums = importance.groupby("kind")["importance"].sum()
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-5)
    assert attention["weight"].sum() == pytest.approx(1.0, abs=1e-5)

"""`forecast interpret` explains the forecasts `forecast predict` makes, in the user's table:

* a run trained in the user's column names (--item-col sku --location-col fc --target-col
  units) names the item and FC embeddings and the demand history as that table does: they were
  listed as 'item_id', 'location_id' and 'target' beside the covariates in the user's own names;
* a table whose known covariates stop at the history (no future rows) is refused as predict
  refuses it. It was interpreted with blank future covariates: importances and attention of
  forecasts that cannot be made (attention on the first step 0.16 instead of 0.10 in the
  audit's run).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster, PanelSpec
from forecasting.interpret import interpret_windows
from forecasting.validate import PanelError
from training import TrainConfig
from training.forecaster import forecast_origins

pytestmark = pytest.mark.slow  # fits a TFT (about 4 CPU-seconds)

H = 7


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    n, history = 6, 40
    dates = pd.date_range("2024-01-01", periods=history + H, freq="D")
    promo = rng.integers(0, 2, size=(n, len(dates))).astype(float)
    units = 10 * promo
    units[:, history:] = np.nan  # the horizon's rows carry the promotions only
    frame = pd.DataFrame(
        {
            "sku": np.repeat([f"A{i}" for i in range(n)], len(dates)),
            "fc": np.repeat(["F1", "F2"], len(dates) * n // 2),
            "day": np.tile(dates, n),
            "units": units.ravel(),
            "promo": promo.ravel(),
        }
    )
    spec = PanelSpec(
        freq="D", known_reals=("promo",), calendar=False,
        item_col="sku", location_col="fc", date_col="day", target_col="units",
    )  # fmt: skip
    train = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=16, progress_bar=False)
    forecaster = Forecaster("tft", H, spec=spec, train=train, hidden_size=8, encoder_length=14)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecaster.fit(frame)
    return forecaster, frame


def test_interpretation_names_the_users_columns(fitted):
    forecaster, frame = fitted
    importance, _ = forecaster.interpret(frame)
    names = {kind: set(part["variable"]) for kind, part in importance.groupby("kind")}
    assert names["static"] == {"sku", "fc", "log_scale"}
    assert names["encoder"] == {
        "units", "observed", "seasonal_lag", "seasonal_lag_observed", "promo"
    }  # fmt: skip
    assert names["decoder"] == {"seasonal_lag", "seasonal_lag_observed", "promo"}

    # The same numbers as the network's own names give them.
    model = forecaster.model_
    store = forecaster._store_for(frame)
    series, origins = forecast_origins(store)
    raw, _ = interpret_windows(
        model.net, store, series, origins, model.encoder_length, H, model.priors(store, origins)
    )
    renamed = {"item_id": "sku", "location_id": "fc", "target": "units"}
    want = raw.assign(variable=raw["variable"].replace(renamed))
    got = importance.set_index(["kind", "variable"])["importance"]
    want = want.set_index(["kind", "variable"])["importance"]
    np.testing.assert_allclose(got[want.index].to_numpy(), want.to_numpy(), atol=1e-7)


def test_interpret_refuses_a_table_predict_refuses(fitted):
    forecaster, frame = fitted
    history = frame[frame["units"].notna()]
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

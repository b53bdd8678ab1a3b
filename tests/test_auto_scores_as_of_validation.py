"""auto scores its candidates on the validation window as predict would have forecast it: a
user reads the saved scores (and the choice made from them) as what each candidate forecast
from the validation origin. The networks were scored on the training store, whose prices are
z-scored over the validation window and the rows after it, inputs that no table ending at the
validation origin gives (a price change there moved the networks' validation forecasts)."""

import warnings

import numpy as np
import pandas as pd
import torch

from forecasting import Forecaster, PanelSpec
from forecasting.metrics import aggregate, mase_scale, window_scores
from forecasting.windows import evaluation_windows
from training import TrainConfig

H = 7


def test_auto_scores_are_those_of_forecasts_from_the_validation_origin():
    warnings.simplefilter("ignore")
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    n = 140
    dates = pd.date_range("2024-01-01", periods=n + H, freq="D")
    rows = []
    for i in range(6):
        price = np.full(n + H, 10.0)
        price[n - H :] = 12.0  # a price change from the validation window on
        demand = rng.poisson(20, n + H).astype(float)
        demand[n:] = np.nan
        rows.append(
            pd.DataFrame({"item_id": f"i{i}", "location_id": "x", "date": dates,
                          "demand": demand, "price": price})
        )  # fmt: skip
    table = pd.concat(rows, ignore_index=True)
    fast = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False)
    forecaster = Forecaster(
        "auto", horizon=H, spec=PanelSpec(known_reals=("price",)), train=fast, hidden_size=8,
        auto_distributions=("quantile",), auto_gbm=False,
    )  # fmt: skip
    forecaster.fit(table)
    auto = forecaster.model_
    store = forecaster.store(table)
    origin = int(store.end.max()) - H
    series = evaluation_windows(store, origin, H, min_history=7)
    origins = torch.full_like(series, origin)
    actual = store.target[series, origin : origin + H].numpy()
    scale = mase_scale(store, series, origins, 7)
    # The table a user had at the validation origin: the history before it, prices ahead.
    at_origin = table[table["date"] < dates[n]].copy()
    at_origin.loc[at_origin["date"] >= dates[n - H], "demand"] = np.nan
    scores = auto.scores.set_index(["model", "demand_class"])
    for name in ("lstm", "tft", "lstm+tft"):
        auto.choice, auto.fallback, auto.overrides = {}, name, []
        out = forecaster.predict(at_origin).sort_values(["item_id", "step"])
        quantiles = out.filter(like="q").to_numpy().reshape(len(series), H, -1)
        expected = aggregate(window_scores(actual, quantiles, auto.quantiles, scale))
        for metric in ("wape", "sql"):
            np.testing.assert_allclose(
                scores.loc[(name, "all"), metric], expected[metric], rtol=1e-5, err_msg=name
            )

"""One network of an auto run as a forecaster of its own (``Forecaster.network``) refits as a
run of that model trained alone does: the frequency the run inferred from its dates is not taken
as one the user gave."""

from __future__ import annotations

import warnings

import pandas as pd

from forecasting import Forecaster, PanelSpec
from forecasting.synthetic import generate_network
from training import TrainConfig


def test_a_network_of_an_auto_run_refits_on_a_weekly_table_as_a_run_of_it_alone_does():
    net = generate_network(n_items=3, n_locations=1, n_days=120, seed=7, future_days=4)
    daily = net.to_frame()[["item_id", "location_id", "date", "demand"]]
    weekly = (
        daily.assign(date=pd.to_datetime(daily["date"]))
        .groupby(["item_id", "location_id", pd.Grouper(key="date", freq="W-MON")])["demand"]
        .sum()
        .reset_index()
    )
    train = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=16, progress_bar=False)
    settings = {"hidden_size": 4, "auto_distributions": ["quantile"], "auto_gbm": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        auto = Forecaster("auto", 4, spec=PanelSpec(), train=train, **settings).fit(daily)
        alone = Forecaster("lstm", 4, spec=PanelSpec(), train=train, hidden_size=4).fit(daily)
        assert auto.spec.freq == alone.spec.freq == "D"  # inferred, not given
        alone.fit(weekly)  # the reference: a daily run of the network alone refits weekly
        view = auto.network("lstm")
        view.fit(weekly)  # was refused: "the frequency was given as D (daily)"
    assert view.spec.freq == alone.spec.freq == "W"
    assert len(view.predict(weekly)) == len(alone.predict(weekly))

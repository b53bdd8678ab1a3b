"""An item launched too close to the end of the training table for any training window (fewer
than a horizon plus the minimum history before the validation origin) is forecast from its
column's unknown embedding, as an unseen item with the same history is, not from the random
initialization of an embedding row no window trained."""

import warnings

import numpy as np
import pandas as pd

from forecasting import Forecaster, PanelSpec
from forecasting.synthetic import generate_network
from training import TrainConfig

H = 7


def test_an_item_launched_within_a_horizon_of_the_end_forecasts_as_an_unseen_item():
    sales = generate_network(
        n_items=4, n_locations=2, n_days=100, future_days=H, seed=1, cold_start_fraction=0.0
    ).to_frame()
    last = sales.loc[sales["demand"].notna(), "date"].max()
    # SKU000000 sells for the last 12 days only: the daily season (7) and the horizon (7) before
    # the validation origin do not fit, so no training window holds it.
    late = (sales["item_id"] == "SKU000000") & (sales["date"] <= last - pd.Timedelta(days=12))
    sales = sales[~late].reset_index(drop=True)
    spec = PanelSpec(static_categoricals=("category", "region"), known_reals=("price",))
    train = TrainConfig(max_epochs=2, batches_per_epoch=4, batch_size=32, progress_bar=False)
    forecaster = Forecaster("lstm", horizon=H, spec=spec, train=train, hidden_size=8)
    items = sales["item_id"].astype(str)
    renamed = sales.assign(item_id=items.where(items != "SKU000000", "UNSEEN"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        forecaster.fit(sales)
        known = forecaster.predict(sales)
        unseen = forecaster.predict(renamed)
    columns = [c for c in known.columns if c.startswith("q")]
    a = known.loc[known["item_id"] == "SKU000000", columns].to_numpy()
    b = unseen.loc[unseen["item_id"] == "UNSEEN", columns].to_numpy()
    assert a.shape == b.shape == (2 * H, len(columns))
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

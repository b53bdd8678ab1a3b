"""A prediction table of new items alone (only future rows) is forecast from the run's level,
as the README's cold-start section says ("a new item sent without any peer starts from the
training panel's overall level"); validation refused it as having no observed demand."""

import warnings

import numpy as np
import pandas as pd

from forecasting import Forecaster, PanelSpec
from training import TrainConfig


def _history() -> pd.DataFrame:
    dates = pd.date_range("2023-01-05", periods=100, freq="W-THU")
    rng = np.random.default_rng(0)
    frames = [
        pd.DataFrame(
            {
                "item_id": item,
                "location_id": location,
                "date": dates,
                "demand": rng.poisson(5, len(dates)).astype(float),
                "price": 1.0,
            }
        )
        for item in ("A", "B")
        for location in ("L", "M")
    ]
    return pd.concat(frames, ignore_index=True)


def test_a_table_of_new_items_alone_is_forecast_as_beside_other_series():
    fast = TrainConfig(
        max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False, accelerator="cpu"
    )
    spec = PanelSpec(known_reals=("price",))
    sales = _history()
    forecaster = Forecaster("lstm", horizon=3, spec=spec, train=fast, hidden_size=8).fit(sales)
    future = pd.date_range("2024-12-05", periods=3, freq="W-THU")
    new = pd.DataFrame(
        {"item_id": "NEW", "location_id": "L", "date": future, "demand": np.nan, "price": 1.0}
    )
    # The reference: the same new item beside a series of another location (no peer of it).
    other = sales[(sales["item_id"] == "A") & (sales["location_id"] == "M")]
    other_future = new.assign(item_id="A", location_id="M")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unseen item is named in a warning
        beside = forecaster.predict(pd.concat([other, other_future, new], ignore_index=True))
        alone = forecaster.predict(new)
    expected = beside[beside["item_id"] == "NEW"].reset_index(drop=True)
    assert list(alone["date"]) == list(future) and list(alone["step"]) == [1, 2, 3]
    pd.testing.assert_frame_equal(alone, expected)

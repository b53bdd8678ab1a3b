"""Future rows past the horizon (a price plan longer than the forecast) do not change the
forecast: known reals are z-scored per series over the rows a forecast reads."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster
from forecasting.spec import PanelSpec
from training import TrainConfig

H = 7
SPEC = PanelSpec(known_reals=("price",))


def _panel(days: int = 80, future: int = H) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2023-01-02", periods=days + future, freq="D")
    rows = []
    for s in range(3):
        for k, day in enumerate(dates):
            price = 5.0 + s + (1.0 if (k // 10) % 2 else 0.0)
            demand = np.nan if k >= days else float(rng.poisson(20 / price))
            rows.append({"item_id": f"i{s}", "location_id": "L0", "date": day,
                         "demand": demand, "price": price})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def fitted():
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False)
    return Forecaster("lstm", H, spec=SPEC, train=train, hidden_size=8).fit(_panel())


@pytest.mark.parametrize("cumulative", [None, H])
def test_future_rows_past_the_horizon_do_not_move_the_forecast(fitted, cumulative):
    table = _panel()
    longer = _panel(future=8 * H)
    late = longer["date"] > table["date"].max()
    longer.loc[late, "price"] *= 3.0  # a price plan for after the horizon
    expected = fitted.predict(table, cumulative=cumulative)
    got = fitted.predict(longer, cumulative=cumulative)
    pd.testing.assert_frame_equal(got, expected)


def test_a_new_item_reads_its_first_horizon_only(fitted):
    table = _panel()
    future = table[table["demand"].isna()]
    new = future[future["item_id"] == "i0"].assign(item_id="i9")
    extra = _panel(future=3 * H)
    extra = extra[(extra["item_id"] == "i0") & (extra["date"] > table["date"].max())]
    extra = extra.assign(item_id="i9", price=extra["price"] * 4)
    with pytest.warns(UserWarning, match="unseen in training"):
        expected = fitted.predict(pd.concat([table, new], ignore_index=True))
    with pytest.warns(UserWarning, match="unseen in training"):
        got = fitted.predict(pd.concat([table, new, extra], ignore_index=True))
    pd.testing.assert_frame_equal(got, expected)

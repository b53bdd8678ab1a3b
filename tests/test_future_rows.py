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


# A cumulative forecast of K periods reads K periods past each origin: rows further ahead (the
# rest of a horizon's price plan) do not move the lead-time quantiles of the periods it sums.
K = 3


def _with_new_item(table: pd.DataFrame) -> pd.DataFrame:
    """A new item (no history) whose price plan drops on the horizon's last days."""
    future = table[table["demand"].isna() & (table["item_id"] == "i0")]
    new = future.assign(item_id="i9")
    new.loc[new["date"] > new["date"].min() + pd.Timedelta(days=K - 1), "price"] = 2.0
    return pd.concat([table, new], ignore_index=True)


def _first_periods(table: pd.DataFrame, periods: int) -> pd.DataFrame:
    last = table.loc[table["demand"].notna(), "date"].max()
    return table[table["date"] <= last + pd.Timedelta(days=periods)].reset_index(drop=True)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False)
    run = tmp_path_factory.mktemp("cumulative_rows") / "run"
    forecaster = Forecaster("lstm", H, spec=SPEC, train=train, hidden_size=8)
    return forecaster.fit(_panel(), run_dir=run), run


@pytest.mark.filterwarnings("ignore:categories unseen")
def test_rows_past_the_summed_periods_do_not_move_a_cumulative_forecast(saved):
    forecaster, _ = saved
    table = _with_new_item(_panel())
    expected = forecaster.predict(_first_periods(table, K), cumulative=K)
    got = forecaster.predict(table, cumulative=K)
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.filterwarnings("ignore:categories unseen")
def test_the_package_reads_the_summed_periods_alone_too(saved, tmp_path):
    from serving.export import export_run
    from serving.runtime import ForecastPackage

    _, run = saved
    runtime = ForecastPackage(export_run(run, tmp_path / "repo"))
    table = _with_new_item(_panel())
    expected = runtime.predict(_first_periods(table, K), cumulative=K)
    got = runtime.predict(table, cumulative=K)
    pd.testing.assert_frame_equal(got, expected)


def test_a_series_known_reals_are_scaled_by_its_history_alone(fitted):
    # The first K periods of a lead-time table over the whole horizon are the K-period table:
    # the horizon's later prices (here tripled) do not move the scaling of the first K.
    table = _panel()
    late = table["date"] > table.loc[table["demand"].notna(), "date"].max() + pd.Timedelta(days=K)
    table.loc[late, "price"] *= 3.0
    whole = fitted.predict(table, cumulative=H)
    first = whole[whole["horizon"] <= K].reset_index(drop=True)
    pd.testing.assert_frame_equal(fitted.predict(table, cumulative=K), first)

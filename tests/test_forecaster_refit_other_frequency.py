"""A Forecaster fitted on a daily table, then on a weekly one, reads the second table's
frequency from its dates as a fresh Forecaster does (it was refused as if 'D' had been given)."""

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster, PanelSpec
from forecasting.validate import PanelError


def _table(freq: str, periods: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2024-01-01", periods=periods, freq=freq)
    return pd.DataFrame(
        {
            "item_id": np.repeat(["a", "b"], periods),
            "location_id": "x",
            "date": np.tile(dates, 2),
            "demand": rng.poisson(5, 2 * periods).astype(float),
        }
    )


def test_refit_on_other_frequency_as_fresh():
    daily, weekly = _table("D", 120), _table("W-MON", 60)
    reused = Forecaster("seasonal_naive", horizon=4).fit(daily)
    assert reused.spec.freq == "D"
    reused.fit(weekly)
    fresh = Forecaster("seasonal_naive", horizon=4).fit(weekly)
    assert reused.spec.freq == fresh.spec.freq == "W"
    pd.testing.assert_frame_equal(reused.predict(weekly), fresh.predict(weekly))
    # and back: the daily table again forecasts as it did the first time
    again = reused.fit(daily).predict(daily)
    first = Forecaster("seasonal_naive", horizon=4).fit(daily).predict(daily)
    pd.testing.assert_frame_equal(again, first)


def test_given_frequency_still_checked():
    forecaster = Forecaster("seasonal_naive", horizon=4, spec=PanelSpec(freq="D"))
    with pytest.raises(PanelError):
        forecaster.fit(_table("W-MON", 60))


def test_a_fit_on_a_prebuilt_store_keeps_no_earlier_tables_report():
    daily = _table("D", 120)
    forecaster = Forecaster("seasonal_naive", horizon=4).fit(daily)
    assert forecaster.report is not None
    store = Forecaster("seasonal_naive", horizon=4).store(daily)
    forecaster.fit(store)
    assert forecaster.report is None  # it described the earlier table
    own = forecaster.store(_table("D", 90))  # the CLI's order: store, report, then fit
    forecaster.fit(own)
    assert forecaster.report is not None and forecaster.report.n_rows == 180

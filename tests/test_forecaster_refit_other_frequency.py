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


def test_a_loaded_run_refits_on_other_frequency_as_the_saved_one(tmp_path):
    # The run's 'D' was inferred: loaded, it infers the weekly table's frequency too (it was
    # refused, "the frequency was given as D"); a frequency given stays checked after loading.
    daily, weekly = _table("D", 120), _table("W-MON", 60)
    Forecaster("seasonal_naive", horizon=4).fit(daily).save(tmp_path / "inferred")
    loaded = Forecaster.load(tmp_path / "inferred")
    assert loaded.spec.freq == "D"
    fresh = Forecaster("seasonal_naive", horizon=4).fit(weekly)
    pd.testing.assert_frame_equal(loaded.fit(weekly).predict(weekly), fresh.predict(weekly))
    assert loaded.spec.freq == "W"
    given = Forecaster("seasonal_naive", horizon=4, spec=PanelSpec(freq="D")).fit(daily)
    given.save(tmp_path / "given")
    with pytest.raises(PanelError):
        Forecaster.load(tmp_path / "given").fit(weekly)

"""`stockcast demo` refuses what its loop cannot finish before any training, in the user's
words: a series that stops selling inside the held-back weeks (a discontinued SKU), named in
the user's column names, and a horizon longer than the second half of the held-back weeks
(--holdout-weeks 6 with the default --horizon 28), naming the flags; each failed after
training before, on the simulation's internal table or asking for future rows the user never
gave."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import serving.demo.forecast as demo_forecast
from forecasting.spec import PanelSpec
from serving.demo import DemoConfig, run_demo
from serving.demo.data import check_horizon, embedded, users_table


def _sales(tmp_path, stop_early: bool):
    days = pd.date_range("2023-01-01", periods=200)
    rng = np.random.default_rng(0)
    rows = []
    for sku in ("0001", "0002"):
        for fc in ("X", "Y"):
            end = len(days) - 10 if stop_early and (sku, fc) == ("0001", "X") else len(days)
            rows += [dict(sku=sku, fc=fc, day=d, units=float(rng.poisson(5))) for d in days[:end]]
    path = tmp_path / "sales.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


SPEC = PanelSpec(item_col="sku", location_col="fc", date_col="day", target_col="units")


def test_a_series_that_stops_inside_the_held_back_weeks_is_named_up_front(tmp_path):
    config = DemoConfig(quick=True).effective()
    with pytest.raises(ValueError, match=r"\(sku, fc\) \(0001, X\): no row on some of the 28"):
        users_table(_sales(tmp_path, stop_early=True), SPEC, config)


def test_a_complete_table_is_accepted(tmp_path):
    config = DemoConfig(quick=True).effective()
    data = users_table(_sales(tmp_path, stop_early=False), SPEC, config)
    assert len(data.holdout) == 4 * 28


def _no_training(*args, **kwargs):
    raise AssertionError("the loop started training")


@pytest.mark.parametrize("weeks", [2, 6])
def test_a_horizon_past_the_held_back_weeks_is_refused_up_front(tmp_path, monkeypatch, weeks):
    monkeypatch.setattr(demo_forecast, "forecasting_step", _no_training)
    config = DemoConfig(out=str(tmp_path / "demo"), items=2, locations=1, days=120,
                        holdout_weeks=weeks, horizon=28, progress=False)  # fmt: skip
    with pytest.raises(ValueError, match=r"--horizon 28: .*--holdout-weeks 8 or more"):
        run_demo(config)
    assert not (tmp_path / "demo").exists()


def test_the_defaults_fit(tmp_path):
    for config in (DemoConfig(), DemoConfig(quick=True).effective()):
        small = DemoConfig(items=2, locations=1, days=120, holdout_weeks=config.holdout_weeks,
                           horizon=config.horizon)  # fmt: skip
        check_horizon(embedded(small), small)  # 28 days of 8 weeks, 14 of 4: no error

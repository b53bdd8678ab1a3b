"""`stockcast demo` refuses what its loop cannot finish before any training, in the user's
words: a series that stops selling inside the held-back weeks (a discontinued SKU), named in
the user's column names, and a horizon longer than the second half of the held-back weeks
(--holdout-weeks 6 with the default --horizon 28), naming the flags; each failed after
training before, on the simulation's internal table or asking for future rows the user never
gave."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import serving.demo.forecast as demo_forecast
import serving.demo.report as demo_report
from forecasting.spec import PanelSpec
from kernels.runfolder import building, read_manifest
from serving.cli import demo
from serving.cli._options import given
from serving.demo import DemoConfig, run_demo
from serving.demo.data import DemoData, check_horizon, embedded, users_table
from training import ImageTrainConfig
from vision import Inspector
from vision.synthetic import write_synthetic_dataset


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


def test_inspection_run_in_staging_records_published_data_paths(tmp_path):
    target = tmp_path / "demo"
    with building(target) as out:
        data = out / "data"
        tunnel = write_synthetic_dataset(
            data / "tunnel", 24, seed=0, image_size=32, defect_rate=0.25, progress=False
        )
        calibration = write_synthetic_dataset(
            data / "calibration", 20, seed=2, image_size=32, defect_rate=0.0, progress=False
        )
        train = ImageTrainConfig(
            max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False, seed=0
        )
        inspector = Inspector(width=8, image_size=32, head_dim=16, train=train)
        inspector.fit(tunnel, run_dir=out / "runs" / "inspect")
        inspector.calibrate(calibration, progress=False)
    manifest = read_manifest(target / "runs" / "inspect")
    root = Path(manifest["training"]["data"]["root"])
    assert ".partial" not in str(root)
    assert root == (target / "data" / "tunnel").resolve()
    assert root.is_dir()
    source = str(manifest["thresholds"]["source"])
    assert ".partial" not in source
    assert Path(source).resolve() == (target / "data" / "calibration").resolve()


class _Stop(Exception):
    pass


def test_report_subtitle_counts_the_panel(tmp_path, monkeypatch):
    seen = {}

    class Capture:
        def __init__(self, title, subtitle=""):
            seen["subtitle"] = subtitle
            raise _Stop

    monkeypatch.setattr(demo_report, "Report", Capture)
    days = pd.date_range("2024-01-01", periods=40)
    frame = pd.DataFrame(
        [(f"S{i}", f"F{j}", d, 1.0) for i in range(3) for j in range(2) for d in days],
        columns=["item_id", "location_id", "date", "demand"],
    )
    data = DemoData(PanelSpec(), frame, days[26], None, None, ())
    for config in (DemoConfig(), DemoConfig(quick=True).effective()):
        with pytest.raises(_Stop):
            demo_report.write_report(tmp_path, config, data, None, None, None, None)
        assert seen["subtitle"].startswith("3 SKUs x 2 FCs, cutoff 2024-01-27")


def _config(*argv):
    parser = argparse.ArgumentParser()
    demo.register(parser.add_subparsers())
    args = parser.parse_args(["demo", *argv])
    captured = {}

    def fake_run(config, data=None, spec=None):
        captured["config"] = config.effective()
        raise SystemExit(0)

    import serving.demo

    original = serving.demo.run_demo
    serving.demo.run_demo = fake_run
    try:
        try:
            demo.demo_command(args)
        except SystemExit:
            pass
    finally:
        serving.demo.run_demo = original
    return captured["config"], given(args, DemoConfig)


def test_quick_keeps_sizes_given_at_their_default_value():
    config, _ = _config("--quick", "--holdout-weeks", "8", "--horizon", "28", "--items", "200")
    assert (config.holdout_weeks, config.horizon, config.items) == (8, 28, 200)
    assert config.locations == 3 and config.days == 365  # the others still shrink


def test_quick_alone_and_other_sizes_unchanged():
    config, _ = _config("--quick")
    assert (config.items, config.holdout_weeks, config.horizon) == (24, 4, 14)
    config, _ = _config("--quick", "--holdout-weeks", "2")
    assert config.holdout_weeks == 2 and config.items == 24
    config, _ = _config()
    assert config.holdout_weeks == 8 and config.items == 200
    assert config.effective() == config


def test_lead_times_known_at_the_cutoff():
    config = DemoConfig(items=12, locations=2, days=120, holdout_weeks=4, progress=False)
    data = embedded(config)
    records = data.lead_times
    arrival = records["order_date"] + pd.to_timedelta(records["lead_time_days"], unit="D")
    assert len(records) > 0
    assert (arrival < data.cutoff).all()
    # What was received before the cutoff is all kept.
    from forecasting.synthetic import generate_network

    network = generate_network(12, 2, 120 + 28, seed=config.seed)
    full = network.lead_times
    known = full[full["order_date"] + pd.to_timedelta(full["lead_time_days"], unit="D")
                 < data.cutoff]  # fmt: skip
    assert len(records) == len(known)


def _data() -> DemoData:
    dates = pd.date_range("2024-01-01", periods=40, freq="D")
    rows = []
    for item, first in (("old", 0), ("at_origin", 30), ("later", 33)):
        for d in dates[first:]:
            rows.append({"item_id": item, "location_id": "FC1", "date": d, "demand": 2.0,
                         "price": 1.5})  # fmt: skip
    frame = pd.DataFrame(rows)
    spec = PanelSpec(freq="D", known_reals=("price",)).canonical()
    return DemoData(spec, frame, dates[30], None, None, ())


def test_forecast_table_leaves_out_series_that_start_after_the_origin():
    data = _data()
    origin, horizon = data.cutoff, 7
    table = data.forecast_table(origin, horizon)
    assert set(table["item_id"]) == {"old", "at_origin"}
    ahead = table[table["date"] >= origin]
    # Every series left covers the whole horizon with its known covariates, demand hidden.
    days = ahead.groupby("item_id")["date"].nunique()
    assert (days == horizon).all()
    assert ahead["demand"].isna().all() and ahead["price"].notna().all()
    assert np.isfinite(table.loc[table["date"] < origin, "demand"]).all()
    # From a later origin the new item has started and is forecast.
    later = data.forecast_table(origin + pd.Timedelta(days=5), 3)
    assert set(later["item_id"]) == {"old", "at_origin", "later"}

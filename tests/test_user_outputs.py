"""What a user's commands leave and say: every output folder with its checked manifest, the
quick demo keeping the sizes given, errors in the user's own column names.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from forecasting import PanelSpec
from forecasting.validate import PanelError, validate_panel
from kernels.runfolder import read_manifest
from serving.cli import main
from serving.demo.config import DemoConfig

# README, "What every command promises": a run folder of `forecast backtest`, `monitor` and
# `interpret` holds a manifest.json with the sha256 of every file, checked on load.


FAST = ["--epochs", "1", "--batches-per-epoch", "2", "--batch-size", "16", "--hidden-size", "8"]


def mapping(path):
    return [
        "--data", str(path), "--item-col", "sku", "--location-col", "store_id",
        "--date-col", "day", "--target-col", "sales", "--horizon", "7",
    ]  # fmt: skip


def test_backtest_and_monitor_folders_have_checked_manifests(user_csv, tmp_path):
    bt = tmp_path / "bt"
    args = ["forecast", "backtest", *mapping(user_csv), "--models", "seasonal_naive"]
    assert main([*args, "--origins", "2", "--out", str(bt)]) == 0
    manifest = read_manifest(bt, task="backtest")
    assert {"metrics.csv", "metrics.json", "windows.parquet"} <= set(manifest["files"])

    run = tmp_path / "run"
    train = ["forecast", "train", *mapping(user_csv), "--model", "seasonal_naive"]
    assert main([*train, "--out", str(run)]) == 0
    forecast = tmp_path / "forecast.parquet"
    history = pd.read_csv(user_csv)
    observed = history[history["sales"].notna()]
    cut = sorted(observed["day"].unique())[-7]
    past = observed[observed["day"] < cut]
    past.to_csv(tmp_path / "past.csv", index=False)
    assert main(["forecast", "predict", "--run", str(run), "--data", str(tmp_path / "past.csv"),
                 "--out", str(forecast)]) == 0  # fmt: skip
    mon = tmp_path / "mon"
    assert main(["forecast", "monitor", "--forecasts", str(forecast), "--actuals", str(user_csv),
                 "--item-col", "sku", "--location-col", "store_id", "--date-col", "day",
                 "--target-col", "sales", "--reference", str(bt / "metrics.json"),
                 "--out", str(mon)]) == 0  # fmt: skip
    assert set(read_manifest(mon, task="monitor")["files"]) == {"monitor.json", "monitor.png"}

    # A reference whose file was changed after the backtest is refused, naming the file.
    metrics = json.loads((bt / "metrics.json").read_text())
    metrics["metrics"][0]["wape"] = 0.0
    (bt / "metrics.json").write_text(json.dumps(metrics))
    code = main(["forecast", "monitor", "--forecasts", str(forecast), "--actuals", str(user_csv),
                 "--item-col", "sku", "--location-col", "store_id", "--date-col", "day",
                 "--target-col", "sales", "--reference", str(bt / "metrics.json"),
                 "--out", str(tmp_path / "mon2")])  # fmt: skip
    assert code == 2
    assert not (tmp_path / "mon2").exists()


@pytest.mark.slow
def test_interpret_folder_has_a_checked_manifest(user_csv, tmp_path):
    run = tmp_path / "tft"
    train = ["forecast", "train", *mapping(user_csv), "--model", "tft", *FAST, "--no-progress"]
    assert main([*train, "--out", str(run)]) == 0
    out = tmp_path / "interp"
    assert main(["forecast", "interpret", "--run", str(run), "--data", str(user_csv),
                 "--out", str(out)]) == 0  # fmt: skip
    files = set(read_manifest(out, task="interpret")["files"])
    assert {"variable_importance.csv", "attention.csv", "interpretation.png"} <= files


# `stockcast demo --quick` shrinks the sizes the user did not give; a size given on the
# command line (`--quick --holdout-weeks 2 --epochs 1`) is the one the demo runs with.


def test_quick_keeps_the_sizes_given():
    config = DemoConfig(quick=True, holdout_weeks=2, epochs=1, horizon=7).effective()
    assert (config.holdout_weeks, config.epochs, config.horizon) == (2, 1, 7)
    assert config.holdout_days == 14
    # what was left at its default still shrinks
    assert (config.items, config.batches_per_epoch, config.origins) == (24, 8, 1)


def test_quick_alone_is_the_small_demo():
    config = DemoConfig(quick=True).effective()
    assert (config.items, config.holdout_weeks, config.epochs, config.horizon) == (24, 4, 2, 14)
    assert DemoConfig().effective() == DemoConfig()


# Errors name the user's columns (README, "What every command promises"): a duplicate key is
# reported as `(sku, store, day)`, not with stockcast's canonical names.


def table() -> pd.DataFrame:
    days = pd.date_range("2024-01-01", periods=30, freq="D").strftime("%m/%d/%Y")
    frame = pd.DataFrame({"sku": "0007", "store": "01", "day": days, "units": 1.0})
    return pd.concat([frame, frame.iloc[[4]]], ignore_index=True)


def test_duplicate_keys_are_named_in_the_users_columns():
    spec = PanelSpec(item_col="sku", location_col="store", date_col="day", target_col="units")
    frame = table().rename(columns=spec.rename_map())
    with pytest.raises(PanelError) as error:
        validate_panel(frame, spec)
    text = str(error.value)
    assert "duplicate (sku, store, day) keys" in text, text
    assert "item_id" not in text and "location_id" not in text


def test_the_command_names_them_too(tmp_path, capsys):
    path = tmp_path / "sales.csv"
    table().to_csv(path, index=False)
    args = ["forecast", "train", "--data", str(path), "--item-col", "sku", "--location-col",
            "store", "--date-col", "day", "--target-col", "units", "--model", "seasonal_naive",
            "--horizon", "7", "--out", str(tmp_path / "run")]  # fmt: skip
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "(sku, store, day)" in err and "row 30 (CSV line 32)" in err, err

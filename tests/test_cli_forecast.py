"""The `stockcast forecast` contract: train / predict / backtest on a user's own column names."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pandas as pd
import pytest

from forecasting.spec import DEFAULT_QUANTILES, quantile_column
from serving.cli import main

FAST = ["--epochs", "1", "--batches-per-epoch", "3", "--batch-size", "16", "--hidden-size", "8"]


def mapping(path):
    return [
        "--data", str(path), "--item-col", "sku", "--location-col", "store_id",
        "--date-col", "day", "--target-col", "sales", "--static-cats", "category,region",
        "--known-reals", "price", "--known-cats", "promo,event", "--horizon", "7",
    ]  # fmt: skip


def test_train_then_predict(user_csv, tmp_path, capsys):
    run = tmp_path / "run"
    assert (
        main(["forecast", "train", *mapping(user_csv), *FAST, "--no-progress", "--out", str(run)])
        == 0
    )
    assert "run folder" in capsys.readouterr().out
    config = json.loads((run / "manifest.json").read_text())["config"]
    assert config["spec"]["target_col"] == "sales" and config["forecast"]["horizon"] == 7

    out = tmp_path / "forecast.parquet"
    assert (
        main(["forecast", "predict", "--run", str(run), "--data", str(user_csv), "--out", str(out)])
        == 0
    )
    table = pd.read_parquet(out)
    expected = ["item_id", "location_id", "date", "step", *map(quantile_column, DEFAULT_QUANTILES)]
    assert list(table.columns) == expected
    assert table["step"].max() == 7


@pytest.mark.slow
def test_auto_trains_says_what_it_chose_and_predicts(user_csv, tmp_path, capsys):
    run = tmp_path / "auto"
    args = ["forecast", "train", *mapping(user_csv), *FAST, "--model", "auto", "--no-progress"]
    assert main([*args, "--out", str(run)]) == 0
    printed = capsys.readouterr().out
    assert "auto: the model per demand class" in printed and "seasonal_naive_wape" in printed
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["model"]["fallback"] in ("lstm", "tft", "lstm+tft", "lstm_nb", "tft_nb",
                                              "lstm_nb+tft_nb", "lstm+tft+seasonal_naive",
                                              "seasonal_naive", "moving_average", "gbm",
                                              "lstm+tft+gbm", "lstm_nb+tft_nb+gbm")  # fmt: skip
    networks = ("lstm", "tft", "lstm_nb", "tft_nb")  # both step heads of each network
    written = {p.name for p in run.iterdir()}
    assert {*networks, *(f"model.{n}.pt" for n in networks), "model.gbm.json"} <= written
    out = tmp_path / "forecast.csv"
    command = ["forecast", "predict", "--run", str(run), "--data", str(user_csv)]
    assert main([*command, "--out", str(out)]) == 0
    assert pd.read_csv(out)["step"].max() == 7


def test_backtest_writes_metrics_and_plots(user_csv, tmp_path, capsys):
    out = tmp_path / "bt"
    args = ["forecast", "backtest", *mapping(user_csv), "--models", "seasonal_naive,moving_average"]
    assert main([*args, "--origins", "2", "--out", str(out)]) == 0
    metrics = pd.read_csv(out / "metrics.csv")
    assert set(metrics["model"]) == {"seasonal_naive", "moving_average"}
    assert {"all", "category", "region", "demand_class"} <= set(metrics["segment_type"])
    assert {"wape", "mase", "sql", "bias", "coverage_90"} <= set(metrics.columns)
    assert json.loads((out / "metrics.json").read_text())["metrics"]
    assert (out / "plots" / "fan_seasonal_naive.png").stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "seasonal_naive" in printed and "bias of the median by segment" in printed
    # Each segment's bias is the windows' sum(median - actual) / sum(actual), recomputed here.
    windows = pd.read_parquet(out / "windows.parquet")
    for (model, label), part in windows.groupby(["model", "demand_class"]):
        row = metrics[(metrics["model"] == model) & (metrics["segment"] == label)]
        expected = part["signed_error"].sum() / part["actual"].sum()
        assert row["bias"].item() == pytest.approx(expected, rel=1e-6)
        assert f"{expected:+.3f}" in printed


def test_bad_input_exits_2_naming_the_users_column(user_csv, tmp_path, capsys):
    frame = pd.read_csv(user_csv)
    frame.loc[5, "sales"] = -3
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)
    code = main(["forecast", "train", *mapping(bad), *FAST, "--out", str(tmp_path / "run")])
    assert code == 2
    err = capsys.readouterr().err
    assert "sales (demand): negative values" in err and "row 5" in err
    assert not (tmp_path / "run").exists()


def test_config_file_and_unknown_keys(user_csv, tmp_path, capsys):
    config = tmp_path / "config.yaml"
    config.write_text("spec:\n  item_col: sku\n  colour: red\n")
    code = main(
        [
            "forecast",
            "train",
            "--data",
            str(user_csv),
            "--config",
            str(config),
            "--out",
            str(tmp_path / "run"),
        ]
    )
    assert code == 2 and "colour" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [config]


@pytest.mark.slow
def test_ddp_training_on_two_cpu_processes(user_csv, tmp_path):
    """Multi-process DDP with the gloo backend: what NCCL does across GPUs, on CPU."""
    run = tmp_path / "ddp"
    command = [
        sys.executable, "-m", "serving.cli", "forecast", "train", *mapping(user_csv), *FAST,
        "--accelerator", "cpu", "--devices", "2", "--no-progress", "--out", str(run),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (run / "model.pt").exists() and (run / "manifest.json").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left
    assert "MEMBER: 2/2" in done.stdout + done.stderr  # the second process joined

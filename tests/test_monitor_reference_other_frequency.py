"""``forecast monitor --reference`` with a backtest of another frequency than the forecasts.

A week's WAPE is not a day's: the days' errors partly cancel in the week's sum. Weekly
forecasts 60% worse than their own weekly backtest (WAPE 0.628 against 0.393, flagged) read as
38% better than a daily backtest of the same data (1.019) and nothing was flagged, without a
word. The backtest now records its frequency in metrics.json and the monitor refuses a
reference of another grain; one of the same grain is compared as before."""

import json

import numpy as np
import pandas as pd

from forecasting.synthetic import generate_network
from serving.cli import main


def _data(tmp_path):
    net = generate_network(n_items=6, n_locations=1, n_days=420, seed=3)
    daily = net.to_frame()[["item_id", "location_id", "date", "demand"]]
    weekly = (
        daily.groupby(["item_id", "location_id", pd.Grouper(key="date", freq="W-SUN")])["demand"]
        .sum()
        .reset_index()
    )
    last = weekly.groupby(["item_id", "location_id"])["date"].transform("max")
    weekly = weekly[weekly["date"] < last]  # the last week is partial
    cut = weekly["date"].max() - pd.Timedelta(weeks=4)
    weekly[weekly["date"] <= cut].to_csv(tmp_path / "weekly.csv", index=False)
    daily[daily["date"] <= cut].to_csv(tmp_path / "daily.csv", index=False)
    future = weekly[weekly["date"] > cut].copy()
    future["step"] = future.groupby(["item_id", "location_id"]).cumcount() + 1
    sign = np.random.default_rng(0).choice([-1, 1], size=len(future))
    future["q0.5"] = np.maximum(future["demand"] * (1 + 0.6 * sign), 0)
    future[["item_id", "location_id", "date", "step", "q0.5"]].to_csv(
        tmp_path / "forecasts.csv", index=False
    )
    future[["item_id", "location_id", "date", "demand"]].to_csv(
        tmp_path / "actuals.csv", index=False
    )


def _backtest(tmp_path, data, horizon):
    out = tmp_path / f"bt_{data}"
    args = ["forecast", "backtest", "--data", str(tmp_path / f"{data}.csv"), "--models",
            "seasonal_naive", "--horizon", horizon, "--origins", "2", "--min-history", "20",
            "--plot-series", "0", "--out", str(out), "--no-progress"]  # fmt: skip
    assert main(args) == 0
    return out / "metrics.json"


def _monitor(tmp_path, reference, name):
    args = ["forecast", "monitor", "--forecasts", str(tmp_path / "forecasts.csv"), "--actuals",
            str(tmp_path / "actuals.csv"), "--reference", str(reference), "--out",
            str(tmp_path / name)]  # fmt: skip
    return main(args)


def test_a_reference_of_another_frequency_is_refused(tmp_path, capsys):
    _data(tmp_path)
    daily = _backtest(tmp_path, "daily", "28")
    weekly = _backtest(tmp_path, "weekly", "4")
    capsys.readouterr()
    assert _monitor(tmp_path, daily, "mon_daily") != 0
    err = capsys.readouterr().err
    assert "daily backtest" in err and "weekly" in err, err
    assert not (tmp_path / "mon_daily").exists()
    assert json.loads(daily.read_text())["frequency"] == "D"
    assert json.loads(weekly.read_text())["frequency"] == "W"
    assert _monitor(tmp_path, weekly, "mon_weekly") == 0
    checks = json.loads((tmp_path / "mon_weekly" / "monitor.json").read_text())
    assert "checks" in checks

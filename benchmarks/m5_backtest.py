"""The README's accuracy table: a rolling-origin backtest on m5_tiny of every model.

    python benchmarks/m5_backtest.py      # writes results/m5_backtest.json, prints a markdown table

Seasonal naive, moving average, the quantile LSTM and the TFT forecast 28 days from each of three
origins 28 days apart (the last one leaves the final 28 days); the networks are fitted once on
the data before the first origin (its last 28 days validate). Also reported: how often the
realized 7- and 28-day demand sums fall below the networks' cumulative 0.9 quantile (a
calibrated forecast: 90%), and the networks' scores on items whose history was hidden
(cold start, 20% of items).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from forecasting import BacktestConfig, Forecaster
from forecasting.backtest import cumulative_calibration, rolling_origins
from forecasting.spec import M5_SPEC
from training.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "m5_backtest.json"
M5 = ROOT.parent / "shared" / "data" / "m5_tiny.parquet"
H = 28


def networks(epochs: int, batches: int) -> list[Forecaster]:
    train = TrainConfig(max_epochs=epochs, batches_per_epoch=batches, seed=0, progress_bar=False)
    return [Forecaster(name, horizon=H, spec=M5_SPEC, train=train) for name in ("lstm", "tft")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batches-per-epoch", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    lstm, tft = networks(args.epochs, args.batches_per_epoch)
    store = lstm.store(M5)
    result = lstm.backtest(store, BacktestConfig(origins=3), also=[tft])
    overall = result.overall()
    origins = rolling_origins(store, H, 3)
    calibration = {}
    for net in (lstm, tft):
        table = cumulative_calibration(store, net.model_, origins, horizons=(7, 28))
        q90 = table[table["level"] == 0.9].set_index("horizon")["coverage"]
        calibration[net.config.model] = {f"q0.9_coverage_{k}d": float(q90[k]) for k in (7, 28)}

    lstm, tft = networks(args.epochs, args.batches_per_epoch)
    cold = lstm.backtest(store, BacktestConfig(origins=3, cold_start=0.2), also=[tft])
    cold_rows = cold.metrics[
        (cold.metrics["segment_type"] == "history") & (cold.metrics["segment"] == "cold")
    ].set_index("model")
    elapsed = time.perf_counter() - start

    columns = ["wape", "mase", "sql", "bias", "coverage_80", "coverage_90"]
    summary = {
        "models": {m: {c: float(overall.loc[m, c]) for c in columns} for m in overall.index},
        "cumulative_calibration": calibration,
        "cold_start": {
            m: {c: float(cold_rows.loc[m, c]) for c in ("wape", "sql", "bias", "n_windows")}
            for m in cold_rows.index
        },
        "windows_per_model": int(overall["n_windows"].iloc[0]),
        "settings": {"origins": 3, "horizon": H, "epochs": args.epochs,
                     "batches_per_epoch": args.batches_per_epoch, "threads": args.threads},
        "minutes": elapsed / 60,
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(summary, indent=2) + "\n")
    os.replace(tmp, RESULTS)

    print("\n| model | WAPE | MASE | SQL | bias | 80% cov. | 90% cov. | cum. q0.9 7d / 28d |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for model, row in summary["models"].items():
        cal = calibration.get(model)
        cum = f"{cal['q0.9_coverage_7d']:.1%} / {cal['q0.9_coverage_28d']:.1%}" if cal else "-"
        print(
            f"| {model} | {row['wape']:.3f} | {row['mase']:.3f} | {row['sql']:.3f} | "
            f"{row['bias']:+.3f} | {row['coverage_80']:.1%} | {row['coverage_90']:.1%} | {cum} |"
        )
    print("\ncold start (20% of items hidden):")
    for model, row in summary["cold_start"].items():
        print(
            f"  {model:<15} WAPE {row['wape']:.3f}  SQL {row['sql']:.3f}  bias {row['bias']:+.3f}"
        )
    print(f"\nwrote {RESULTS} ({elapsed / 60:.1f} min)")


if __name__ == "__main__":
    main()

"""How well the networks' lead-time (cumulative) quantiles cover realized demand sums.

    python benchmarks/lead_time_calibration.py      # writes results/lead_time_calibration.json
    python benchmarks/lead_time_calibration.py --seeds 0 1 2 --panels poisson --out x.json

For each panel and seed an LSTM with default settings is trained, then forecasts the demand
summed over 1..K periods from several origins after its training data; the table is the share
of the realized sums at or below each quantile (calibrated: the level itself).

Panels: ``poisson``, 48 series of independent Poisson days with a weekday profile (420 days
of training, 14 origins a week apart, K = 14); ``negbin``, the same with each day's mean drawn
from a gamma of shape 1/0.3 (overdispersed); ``m5``, m5_tiny from the three 28-day origins of
the README's backtest (K = 28). The reference is the realized sums themselves. An m5 sum of
zero counts as below a quantile of zero, so low levels read high on intermittent items.
Runs use one thread each. ``results/lead_time_calibration_sqrt_trial*.json`` are this script at
commit b480684, which also trained a head whose spread grows as sqrt(h) ("after"; reverted).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from forecasting import ForecastConfig, Forecaster
from forecasting.backtest import cumulative_calibration, rolling_origins
from forecasting.spec import M5_SPEC
from training.config import TrainConfig
from training.forecaster import NeuralForecaster

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "lead_time_calibration.json"
M5 = ROOT.parent / "shared" / "data" / "m5_tiny.parquet"


def synthetic_panel(seed: int, overdispersion: float, n_series=48, n_days=420 + 14 * 8):
    """Independent days at a weekday profile; each day's mean gamma-mixed if overdispersed."""
    rng = np.random.default_rng(seed)
    profile = np.array([0.8, 0.9, 0.9, 1.0, 1.2, 1.4, 0.8])
    dates = pd.date_range("2024-01-01", periods=n_days, freq="D")
    mean = rng.uniform(2, 20, n_series)[:, None] * profile[dates.dayofweek][None, :]
    if overdispersion > 0:
        mean = mean * rng.gamma(1 / overdispersion, overdispersion, mean.shape)
    demand = rng.poisson(mean).astype(float)
    return pd.DataFrame(
        {
            "item_id": np.repeat([f"i{k}" for k in range(n_series)], n_days),
            "location_id": "fc",
            "date": np.tile(dates, n_series),
            "demand": demand.ravel(),
        }
    )


def fitted(panel: str, seed: int):
    """An LSTM trained on ``panel`` before its scoring origins: (store, model, origins, K)."""
    if panel == "m5":
        store = Forecaster(spec=M5_SPEC).store(M5)
        origins = rolling_origins(store, 28, 3)
        train = TrainConfig(max_epochs=15, batches_per_epoch=40, seed=seed, progress_bar=False)
        model = NeuralForecaster(ForecastConfig("lstm", horizon=28), train)
        model.fit(store, cutoff=origins[0])
        return store, model, origins, 28
    table = synthetic_panel(seed, 0.3 if panel == "negbin" else 0.0)
    train = TrainConfig(max_epochs=30, batches_per_epoch=50, seed=seed, progress_bar=False)
    forecaster = Forecaster("lstm", horizon=14, train=train)
    forecaster.fit(table[table["date"] < table["date"].min() + pd.Timedelta(days=420)])
    store = forecaster.store(table)
    return store, forecaster.model_, rolling_origins(store, 14, 14, step=7), 14


def run(panel: str, seed: int) -> dict:
    """Coverage of the realized 1-, 7- and K-period sums by each lead-time quantile."""
    start = time.perf_counter()
    store, model, origins, horizon = fitted(panel, seed)
    fit_s = time.perf_counter() - start
    table = cumulative_calibration(store, model, origins, horizons=sorted({1, 7, horizon}))
    coverage = {
        int(k): {f"{lv:g}": float(c) for lv, c in zip(g["level"], g["coverage"], strict=True)}
        for k, g in table.groupby("horizon")
    }
    errors = {k: float(np.mean([abs(c - float(lv)) for lv, c in v.items()]))
              for k, v in coverage.items()}  # fmt: skip
    return {"panel": panel, "seed": seed, "horizon": horizon,
            "coverage": coverage, "mean_abs_calibration_error": errors,
            "n_sums": int(table["n"].iloc[0]), "fit_s": fit_s}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--panels", nargs="+", default=["poisson", "negbin", "m5"],
                        choices=["poisson", "negbin", "m5"])  # fmt: skip
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for panel in args.panels:
        for seed in args.seeds if panel != "m5" else args.seeds[:1]:
            rows.append(run(panel, seed))
            k, cov = rows[-1]["horizon"], rows[-1]["coverage"][rows[-1]["horizon"]]
            print(f"{panel:8s} seed {seed} K={k:2d}  q0.05 {cov['0.05']:.3f}  "
                  f"q0.5 {cov['0.5']:.3f}  q0.95 {cov['0.95']:.3f}  "
                  f"MACE {rows[-1]['mean_abs_calibration_error'][k]:.3f}", flush=True)  # fmt: skip
    summary = []
    for panel in args.panels:
        part = [r for r in rows if r["panel"] == panel]
        k = part[0]["horizon"]
        summary.append({
            "panel": panel, "K": k, "seeds": len(part),
            **{f"q{lv}": float(np.mean([r["coverage"][k][lv] for r in part]))
               for lv in ("0.05", "0.5", "0.95")},
            "mace": float(np.mean([r["mean_abs_calibration_error"][k] for r in part])),
        })  # fmt: skip
    print("\n| panel | K | seeds | <= q0.05 | <= q0.5 | <= q0.95 | mean abs. error |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for s in summary:
        print(f"| {s['panel']} | {s['K']} | {s['seeds']} | {s['q0.05']:.3f} | "
              f"{s['q0.5']:.3f} | {s['q0.95']:.3f} | {s['mace']:.3f} |")  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"summary": summary, "runs": rows}, indent=2) + "\n")
    tmp.replace(args.out)


if __name__ == "__main__":
    main()

"""Forecasting networks' training and prediction speed: stockcast against pytorch-forecasting
at its best, on m5_tiny.

    python benchmarks/forecast_train.py                # TFT -> results/forecast_train.json
    python benchmarks/forecast_train.py --model lstm   # LSTM -> results/forecast_train_lstm.json
    python benchmarks/forecast_train.py --repeats 1 --steps 30   # a quick look

Every side trains a network of the same size with encoder 56, horizon 28, batch 128, Adam(W) at
3e-3 and gradient clipping 1.0, for the same number of optimizer steps on the same validated
frame without its last 28 days (whose last 28 days validate), then forecasts those 28 days for
all 280 series as quantiles 0.1 / 0.5 / 0.9, scored by the same code (forecasting.metrics).

pytorch-forecasting runs as its documentation shows (TimeSeriesDataSet -> to_dataloader ->
Model.from_dataset -> Trainer.fit -> predict):

* ``--model tft`` (hidden 32, 2 attention heads, hidden continuous size 8, dropout 0.1): its
  TemporalFusionTransformer in two configurations, ``pf_variable``, variable encoder lengths
  (``min_encoder_length=7``, ``add_encoder_length``), the documented default, whose TFT packs
  the sequences (``pack_padded_sequence``), and ``pf_fixed``, its fast path: a fixed encoder
  length (``min_encoder_length`` = ``max_encoder_length``, no encoder-length feature) with a
  ``GroupNormalizer`` per series;
* ``--model lstm`` (hidden 32, 2 layers, dropout 0.1): ``pf_deepar``, its DeepAR with LSTM
  cells on the same fixed-length windows (a normal distribution; quantiles from its default
  100 sample paths).

stockcast runs ``Forecaster.fit`` / ``predict``. Each part runs in its own subprocess (its peak
RSS is its own), and the parts alternate over ``--repeats`` rounds (the order rotating each
round), so the load of a shared machine falls on every side alike; the table gives medians.

* ``train_samples_per_s``: steps x batch / (data pipeline + fit); ``fit_samples_per_s``: the
  fit alone (the peer's datasets or stockcast's store built before);
* ``predict_series_per_s``: series / wall time from the DataFrame to the forecasts (the
  peer's prediction dataset of the table's last encoder + horizon days, as its tutorial
  predicts on new data, stockcast's validated store of the whole table, then the network);
  ``model_series_per_s``: the same from a prebuilt dataset / store (the peer's ``predict`` on
  its dataloader, stockcast's ``predict`` on its store, both up to a quantile table);
* ``*_per_cpu_s``: the same per second of the process's CPU time, which other processes on a
  shared machine do not inflate;
* ``sql``, ``wape``, ``mase``: over the 28 forecast days (MASE scale: 7-day seasonal difference);
* ``package``: stockcast's fitted run exported to an ONNX package and forecasting from the same
  DataFrame through onnxruntime (``ForecastPackage.predict``), series/s against the fastest
  peer's ``predict_series_per_s``, and its largest gap to the torch medians: the first call
  after loading the package (onnxruntime's memory arena still grows to the batch then) and
  the next one (``warm_*``: what a loaded package answers each further request in).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _harness as harness  # benchmarks/ is on sys.path when run as a script
import numpy as np

# Run as a script, this folder is first on sys.path, and benchmarks/kernels.py would hide the
# ``kernels`` package that forecasting builds on: put the repository root first instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent), *(p for p in sys.path if Path(p or ".").resolve() != _HERE)]

from training.config import ACCELERATORS  # noqa: E402  (torch-free)

ROOT = harness.ROOT
RESULTS = ROOT / "benchmarks" / "results" / "forecast_train.json"
M5 = ROOT.parent / "shared" / "data" / "m5_tiny.parquet"
ENCODER, HORIZON, BATCH, LR = 56, 28, 128, 3e-3
QUANTILES = (0.1, 0.5, 0.9)
SIZES = {
    "tft": {"hidden_size": 32, "attention_heads": 2, "hidden_continuous_size": 8, "dropout": 0.1},
    "lstm": {"hidden_size": 32, "num_layers": 2, "dropout": 0.1},
}
RATES = (
    "train_samples_per_s", "fit_samples_per_s", "predict_series_per_s", "model_series_per_s",
    "fit_samples_per_cpu_s", "model_series_per_cpu_s",
)  # fmt: skip
COLUMNS = (*RATES, "peak_rss_mb", "sql", "wape", "mase")


class Clock:
    """Wall and CPU seconds of a ``with`` block (CPU: this process's, all its threads)."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu


def load():
    """The raw m5_tiny table, its validated store, the index of the first forecast day, and the
    two tables the benchmark hands over: training history and history + forecast rows."""
    import pandas as pd

    from forecasting import Forecaster
    from forecasting.spec import M5_SPEC
    from kernels.io import read_table

    raw = read_table(M5)
    store = Forecaster(spec=M5_SPEC).store(raw)
    origin = int(store.end.max()) - HORIZON
    dates = pd.to_datetime(raw["date"])
    history = raw[dates < store.dates[origin]]
    # Forecast rows carry the known covariates of the 28 days, demand left empty.
    future = raw[dates < store.dates[origin] + pd.Timedelta(days=HORIZON)].copy()
    future.loc[dates >= store.dates[origin], "sales"] = np.nan
    return raw, store, origin, history, future


def score(store, origin: int, quantiles: np.ndarray) -> dict:
    """SQL / WAPE / MASE of (280, 28, 3) quantiles in the store's series order.

    Quantiles below 0 are scored as 0 on every side, as ``accuracy.py`` scores the peer:
    demand is never negative, stockcast's quantiles never are, and pytorch-forecasting's
    ``GroupNormalizer`` without a transformation (and its auto normalizer on a target with
    zeros) leaves a quarter of its quantiles below 0 here, which would be scored against it."""
    import torch

    from forecasting.metrics import aggregate, mase_scale, window_scores

    series = torch.arange(store.n_series)
    starts = torch.full_like(series, origin)
    actual = store.target[:, origin : origin + HORIZON].numpy()
    scale = mase_scale(store, series, starts, 7)
    metrics = aggregate(window_scores(actual, np.maximum(quantiles, 0.0), QUANTILES, scale))
    return {k: metrics[k] for k in ("sql", "wape", "mase")}


def rates(samples: int, series: int, data: Clock, fit: Clock, pdata: Clock, pmodel: Clock):
    """Rates with and without the data pipeline, and the seconds they come from."""
    return {
        "train_samples_per_s": samples / (data.wall + fit.wall),
        "fit_samples_per_s": samples / fit.wall,
        "predict_series_per_s": series / pdata.wall,
        "model_series_per_s": series / pmodel.wall,
        "fit_samples_per_cpu_s": samples / fit.cpu,
        "model_series_per_cpu_s": series / pmodel.cpu,
        "data_s": data.wall,
        "fit_s": fit.wall,
        "predict_s": pdata.wall,
        "predict_model_s": pmodel.wall,
        "fit_cpu_s": fit.cpu,
        "predict_model_cpu_s": pmodel.cpu,
    }


def part_stockcast(args) -> dict:
    import torch

    from forecasting import Forecaster
    from forecasting.spec import M5_SPEC, quantile_column
    from training.config import TrainConfig

    torch.set_num_threads(args.threads)
    _, store, origin, history, future = load()
    train = TrainConfig(
        max_epochs=1, batches_per_epoch=args.steps, batch_size=BATCH, learning_rate=LR,
        gradient_clip_val=1.0, early_stopping_patience=None, seed=0, progress_bar=False,
        accelerator=args.accelerator,
    )  # fmt: skip
    # pytorch-forecasting trains on every window as is; so does this side (no cold-start
    # windows with hidden history), so both fit the same task.
    forecaster = Forecaster(
        args.model, horizon=HORIZON, spec=M5_SPEC, train=train, encoder_length=ENCODER,
        quantiles=QUANTILES, model_params=SIZES[args.model], cold_start_rate=0.0,
    )  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="bench-forecast-"))
    with Clock() as data:
        train_store = forecaster.store(history)  # load, validate, build the store
    with Clock() as fit:
        # The last 28 days of the history validate; the run folder is for the export below.
        forecaster.fit(train_store, run_dir=work / "run")

    with Clock() as pdata:
        table = forecaster.predict(future)  # validate, build the store, forecast
    predict_store = forecaster._store_for(future)
    with Clock() as pmodel:
        again = forecaster.predict(predict_store)
    assert again.equals(table)

    # The served path: the run exported to an ONNX package, forecasting from the same table.
    from serving.export import export_run
    from serving.runtime import ForecastPackage

    package = ForecastPackage(export_run(work / "run", work / "repo"), threads=args.threads)
    with Clock() as ponnx:
        served = package.predict(future)
    with Clock() as ponnx_warm:  # what a loaded package answers the next request in
        package.predict(future)
    key = ["item_id", "location_id", "step"]
    median = quantile_column(0.5)
    gap = served.sort_values(key)[median].to_numpy() - table.sort_values(key)[median].to_numpy()
    shutil.rmtree(work, ignore_errors=True)

    table = table.sort_values(["item_id", "location_id", "step"])  # the store's series order
    columns = [quantile_column(q) for q in QUANTILES]
    quantiles = table[columns].to_numpy().reshape(-1, HORIZON, len(QUANTILES))
    series = table[["item_id", "location_id"]].drop_duplicates()
    assert len(series) == store.n_series and (table["date"].min() == store.dates[origin])
    return {
        **rates(args.steps * BATCH, len(series), data, fit, pdata, pmodel),
        "package_series_per_s": len(series) / ponnx.wall,
        "package_warm_series_per_s": len(series) / ponnx_warm.wall,
        "package_max_median_gap": float(np.abs(gap).max()),
        "peak_rss_mb": harness.peak_rss_mb(),
        **score(store, origin, quantiles),
    }


def _pf_frame(frame, first_date):
    """The columns pytorch-forecasting needs: an integer time index, categoricals as strings."""
    import pandas as pd

    from forecasting.io import map_columns
    from forecasting.spec import M5_SPEC

    frame = map_columns(frame, M5_SPEC, require_target=True).copy()
    frame["date"] = pd.to_datetime(frame["date"])
    frame["time_idx"] = (frame["date"] - first_date).dt.days.astype("int64")
    for column in ("item_id", "location_id", "dept_id", "cat_id", "state_id", "event_type_1"):
        frame[column] = frame[column].astype(str)
    frame["snap"] = frame["snap"].astype(str)
    frame["day_of_week"] = frame["date"].dt.dayofweek.astype(str)
    frame["day_of_month"] = frame["date"].dt.day.astype(str)
    frame["month"] = frame["date"].dt.month.astype(str)
    # Pre-launch rows (no price, no sales) are dropped, as stockcast's validation does.
    return frame[frame["sell_price"].notna()].reset_index(drop=True)


def part_pytorch_forecasting(args, config: str) -> dict:
    """``config``: "variable" or "fixed" (its TFT), "deepar" (its DeepAR, fixed length)."""
    import warnings

    import lightning.pytorch as pl
    import torch
    from pytorch_forecasting import DeepAR, TemporalFusionTransformer, TimeSeriesDataSet
    from pytorch_forecasting.data import GroupNormalizer
    from pytorch_forecasting.metrics import NormalDistributionLoss, QuantileLoss

    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    raw, store, origin, history, future = load()
    first = store.dates[0]
    cutoff = int((store.dates[origin] - first).days)
    history = _pf_frame(history, first)
    # The decoder rows of the forecast: their demand is not an input (a placeholder 0).
    future = _pf_frame(future.fillna({"sales": 0.0}), first)

    # The documented variable-length configuration, or the fixed-length fast path.
    lengths = (
        {"min_encoder_length": 7, "add_encoder_length": True}
        if config == "variable" else
        {"min_encoder_length": ENCODER, "add_encoder_length": False,
         "target_normalizer": GroupNormalizer(groups=["item_id", "location_id"])}
    )  # fmt: skip
    with Clock() as data:
        pl.seed_everything(0, verbose=False)
        training = TimeSeriesDataSet(
            history[history["time_idx"] < cutoff - HORIZON],
            time_idx="time_idx",
            target="demand",
            group_ids=["item_id", "location_id"],
            max_encoder_length=ENCODER,
            max_prediction_length=HORIZON,
            min_prediction_length=HORIZON,
            static_categoricals=["item_id", "location_id", "dept_id", "cat_id", "state_id"],
            time_varying_known_categoricals=[
                "event_type_1", "snap", "day_of_week", "day_of_month", "month",
            ],
            time_varying_known_reals=["sell_price"],
            time_varying_unknown_reals=["demand"],
            add_target_scales=True,
            **lengths,
        )  # fmt: skip
        validation = TimeSeriesDataSet.from_dataset(training, history, predict=True)
        loader = training.to_dataloader(train=True, batch_size=BATCH, num_workers=0)
        val_loader = validation.to_dataloader(train=False, batch_size=BATCH * 4, num_workers=0)
    if config == "deepar":
        size = SIZES["lstm"]
        model = DeepAR.from_dataset(
            training,
            cell_type="LSTM",
            hidden_size=size["hidden_size"],
            rnn_layers=size["num_layers"],
            dropout=size["dropout"],
            loss=NormalDistributionLoss(quantiles=list(QUANTILES)),
            learning_rate=LR,
            log_interval=-1,
        )
    else:
        size = SIZES["tft"]
        model = TemporalFusionTransformer.from_dataset(
            training,
            hidden_size=size["hidden_size"],
            attention_head_size=size["attention_heads"],
            hidden_continuous_size=size["hidden_continuous_size"],
            dropout=size["dropout"],
            loss=QuantileLoss(list(QUANTILES)),
            learning_rate=LR,
            log_interval=-1,
        )
    trainer = pl.Trainer(
        max_steps=args.steps,
        accelerator="cuda" if args.accelerator in ("cuda", "gpu") else "cpu",
        gradient_clip_val=1.0,
        enable_checkpointing=False,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        val_check_interval=args.steps if args.steps < len(loader) else None,
    )
    with Clock() as fit:
        trainer.fit(model, train_dataloaders=loader, val_dataloaders=val_loader)

    def forecast(dataloader):
        return model.predict(
            dataloader,
            mode="quantiles",
            return_index=True,
            trainer_kwargs={"logger": False, "enable_progress_bar": False},
        )

    with Clock() as pdata:
        # Only the last encoder + horizon days, as pytorch-forecasting's tutorial predicts on
        # new data: its scales come from training (or the encoder), so the forecasts are the
        # same as from the whole history (0.0 apart, fixed-length TFT) in a tenth of the time.
        recent = future[future["time_idx"] >= cutoff - ENCODER]
        predict_set = TimeSeriesDataSet.from_dataset(training, recent, predict=True)
        predict_loader = predict_set.to_dataloader(train=False, batch_size=1024, num_workers=0)
        output = forecast(predict_loader)
    with Clock() as pmodel:
        forecast(predict_loader)

    quantiles = output.output.cpu().numpy()
    index = output.index
    assert (index["time_idx"] == cutoff).all()  # the first forecast day
    position = {
        key: k for k, key in enumerate(zip(index["item_id"], index["location_id"], strict=True))
    }
    keys = store.keys[["item_id", "location_id"]].astype(str).itertuples(index=False)
    order = [position[tuple(key)] for key in keys]
    return {
        **rates(args.steps * BATCH, len(index), data, fit, pdata, pmodel),
        "peak_rss_mb": harness.peak_rss_mb(),
        **score(store, origin, quantiles[order]),
    }


PARTS = {
    "stockcast": part_stockcast,
    "pf_fixed": lambda args: part_pytorch_forecasting(args, "fixed"),
    "pf_variable": lambda args: part_pytorch_forecasting(args, "variable"),
    "pf_deepar": lambda args: part_pytorch_forecasting(args, "deepar"),
}
PEERS = {"tft": ("pf_fixed", "pf_variable"), "lstm": ("pf_deepar",)}
LABELS = {
    "pf_variable": "pytorch-forecasting TFT, variable length",
    "pf_fixed": "pytorch-forecasting TFT, fixed length",
    "pf_deepar": "pytorch-forecasting DeepAR (LSTM)",
    "stockcast": "stockcast",
}


def run_part(name: str, args) -> dict:
    flags = [
            "--model", args.model, "--steps", str(args.steps), "--threads", str(args.threads),
            "--accelerator", args.accelerator,
        ]  # fmt: skip
    before = os.getloadavg()[0]
    result = harness.run_part(__file__, name, flags)
    result["loadavg"] = [before, os.getloadavg()[0]]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--part", choices=sorted(PARTS), help=argparse.SUPPRESS)
    parser.add_argument("--part-out", help=argparse.SUPPRESS)
    parser.add_argument("--model", default="tft", choices=sorted(PEERS), help="network [tft]")
    parser.add_argument("--steps", type=int, default=100, help="optimizer steps [100]")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds [3]")
    parser.add_argument(
        "--parts", help="which sides, comma-separated [stockcast and the model's peers]"
    )
    parser.add_argument(
        "--threads", type=int, default=1,
        help="torch threads per side [1: on a shared machine, OpenMP threads that wait for a "
        "busy core slow both sides by an order of magnitude]",
    )  # fmt: skip
    parser.add_argument(
        "--accelerator", default="cpu", choices=ACCELERATORS,
        help="device of both sides [cpu; auto: CUDA when present]",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, help="JSON to write [results/forecast_train*.json]")
    args = parser.parse_args()
    if args.accelerator == "auto":  # one device for every side, recorded as such
        import torch

        args.accelerator = "cuda" if torch.cuda.is_available() else "cpu"
    if args.part:
        Path(args.part_out).write_text(json.dumps(PARTS[args.part](args)))
        return
    if not M5.exists():
        sys.exit(f"{M5} not found: this benchmark needs ../shared/data")
    out = args.out or RESULTS.with_name(
        "forecast_train.json" if args.model == "tft" else f"forecast_train_{args.model}.json"
    )
    names = args.parts.split(",") if args.parts else ["stockcast", *PEERS[args.model]]
    runs: dict[str, list[dict]] = {n: [] for n in names}
    for round_ in range(args.repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:  # rotate the order every round
            runs[name].append(run_part(name, args))
            row = runs[name][-1]
            print(
                f"  round {round_ + 1} {name}: "
                + ", ".join(f"{c} {row[c]:.3f}" for c in COLUMNS)
                + f", load {row['loadavg'][0]:.1f}",
                flush=True,
            )
    medians = {
        n: {c: statistics.median(r[c] for r in rs) for c in COLUMNS} for n, rs in runs.items()
    }
    result: dict = {"model": args.model, "median": medians}
    if "stockcast" in medians:
        ours = medians["stockcast"]
        peers = [n for n in medians if n != "stockcast"]
        result["ratio"] = {n: {c: ours[c] / medians[n][c] for c in RATES} for n in peers}
        if peers:
            fastest = {c: max(medians[n][c] for n in peers) for c in RATES}
            result["ratio_to_fastest_peer"] = {c: ours[c] / fastest[c] for c in RATES}
            served = statistics.median(r["package_series_per_s"] for r in runs["stockcast"])
            warm = statistics.median(r["package_warm_series_per_s"] for r in runs["stockcast"])
            result["package"] = {
                "series_per_s": served,
                "ratio_to_fastest_peer_predict": served / fastest["predict_series_per_s"],
                "warm_series_per_s": warm,
                "warm_ratio_to_fastest_peer_predict": warm / fastest["predict_series_per_s"],
                "max_median_gap": max(r["package_max_median_gap"] for r in runs["stockcast"]),
            }
    result["settings"] = {
        "model": args.model, "steps": args.steps, "repeats": args.repeats, "batch_size": BATCH,
        "encoder": ENCODER, "horizon": HORIZON, "quantiles": QUANTILES, **SIZES[args.model],
        "threads": args.threads, "accelerator": args.accelerator, "cpus": os.cpu_count(),
    }  # fmt: skip
    result["runs"] = runs
    harness.write_json(result, out)

    setting = f"{args.steps} steps of {BATCH}, {args.accelerator}, {args.threads} threads"
    print(f"\n{args.model} on m5_tiny, {setting}, medians of {args.repeats} interleaved rounds")
    short = {c: c.replace("_samples", "").replace("_series", "") for c in COLUMNS}
    print(f"{'':<42}" + "".join(f"{short[c]:>17}" for c in COLUMNS))
    for name, row in medians.items():
        print(f"{LABELS[name]:<42}" + "".join(f"{row[c]:>17.3f}" for c in COLUMNS))
    for name, ratio in result.get("ratio", {}).items():
        label = f"stockcast / {name}"
        print(f"{label:<42}" + "".join(f"{ratio[c]:>16.2f}x" for c in RATES))
    if "ratio_to_fastest_peer" in result:
        package = result["package"]
        print(
            f"stockcast's ONNX package from the same table: {package['series_per_s']:.1f} "
            f"series/s, {package['ratio_to_fastest_peer_predict']:.1f}x the fastest peer's "
            f"predict on its first call, {package['warm_series_per_s']:.1f} series/s "
            f"({package['warm_ratio_to_fastest_peer_predict']:.1f}x) on the next (issue 13 "
            "target for the TFT: 20x)"
        )
        best = result["ratio_to_fastest_peer"]
        print(
            f"against the fastest peer: train {best['train_samples_per_s']:.2f}x "
            f"(fit only {best['fit_samples_per_s']:.2f}x; target 2x), predict "
            f"{best['predict_series_per_s']:.2f}x (model only {best['model_series_per_s']:.2f}x; "
            f"target 5x)"
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

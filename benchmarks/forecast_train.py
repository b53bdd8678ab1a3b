"""TFT training and prediction: stockcast vs pytorch-forecasting's own pipeline, on m5_tiny.

    python benchmarks/forecast_train.py            # writes results/forecast_train.json
    python benchmarks/forecast_train.py --steps 100 --threads 1   # a quick look

Both sides train a Temporal Fusion Transformer of the same size (hidden 32, 2 attention heads,
hidden continuous size 8, dropout 0.1, quantiles 0.1 / 0.5 / 0.9) with encoder 56, horizon 28,
batch 128, Adam(W) at 3e-3 and gradient clipping 1.0, for the same number of optimizer steps on
the same validated frame without its last 28 days, then forecast those 28 days for all 280
series. pytorch-forecasting runs as its documentation shows (TimeSeriesDataSet ->
to_dataloader -> TemporalFusionTransformer.from_dataset -> Trainer.fit -> predict); stockcast
runs NeuralForecaster.fit / predict. Each side runs in its own subprocess so its peak RSS is its
own; accuracy is scored by the same code (forecasting.metrics) for both.

* train_samples_per_s: steps x batch / wall time of the fit (data pipeline included);
* predict_series_per_s: series / wall time from the DataFrame to the quantile array;
* sql, wape, mase: over the last 28 days (MASE scale: in-sample 7-day seasonal difference).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import _harness as harness  # benchmarks/ is on sys.path when run as a script
import numpy as np

ROOT = harness.ROOT
RESULTS = ROOT / "benchmarks" / "results" / "forecast_train.json"
M5 = ROOT.parent / "shared" / "data" / "m5_tiny.parquet"
ENCODER, HORIZON, BATCH, LR = 56, 28, 128, 3e-3
QUANTILES = (0.1, 0.5, 0.9)
SIZE = {"hidden_size": 32, "attention_heads": 2, "hidden_continuous_size": 8, "dropout": 0.1}


def load():
    """The raw m5_tiny table, its store, and the index of the first held-out day."""
    from forecasting import Forecaster
    from forecasting.spec import M5_SPEC
    from kernels.io import read_table

    raw = read_table(M5)
    store = Forecaster(spec=M5_SPEC).store(raw)
    return raw, store, int(store.end.max()) - HORIZON


def score(store, origin: int, quantiles: np.ndarray) -> dict:
    """SQL / WAPE / MASE of (280, 28, 3) quantiles in the store's series order."""
    import torch

    from forecasting.metrics import aggregate, mase_scale, window_scores

    series = torch.arange(store.n_series)
    starts = torch.full_like(series, origin)
    actual = store.target[:, origin : origin + HORIZON].numpy()
    scale = mase_scale(store, series, starts, 7)
    metrics = aggregate(window_scores(actual, quantiles, QUANTILES, scale))
    return {k: metrics[k] for k in ("sql", "wape", "mase")}


def part_stockcast(args) -> dict:
    import pandas as pd
    import torch

    from forecasting import Forecaster
    from forecasting.spec import M5_SPEC, quantile_column
    from training.config import TrainConfig

    torch.set_num_threads(args.threads)
    raw, store, origin = load()
    history = raw[pd.to_datetime(raw["date"]) < store.dates[origin]]
    train = TrainConfig(
        max_epochs=1, batches_per_epoch=args.steps, batch_size=BATCH, learning_rate=LR,
        gradient_clip_val=1.0, early_stopping_patience=None, seed=0, progress_bar=False,
        accelerator=args.accelerator,
    )  # fmt: skip
    # pytorch-forecasting trains on every window as is; so does this side (no cold-start
    # windows with hidden history), so both fit the same task.
    forecaster = Forecaster(
        "tft", horizon=HORIZON, spec=M5_SPEC, train=train, encoder_length=ENCODER,
        quantiles=QUANTILES, model_params=SIZE, cold_start_rate=0.0,
    )  # fmt: skip
    start = time.perf_counter()
    # The last 28 days of `history` validate; the store is built inside (load, validate, build).
    forecaster.fit(history)
    train_s = time.perf_counter() - start

    start = time.perf_counter()
    table = forecaster.predict(history)
    predict_s = time.perf_counter() - start
    table = table.sort_values(["item_id", "location_id", "step"])  # the store's series order
    columns = [quantile_column(q) for q in QUANTILES]
    quantiles = table[columns].to_numpy().reshape(-1, HORIZON, len(QUANTILES))
    series = table[["item_id", "location_id"]].drop_duplicates()
    assert len(series) == store.n_series and (table["date"].min() == store.dates[origin])
    return {
        "train_samples_per_s": args.steps * BATCH / train_s,
        "predict_series_per_s": len(series) / predict_s,
        "peak_rss_mb": harness.peak_rss_mb(),
        **score(store, origin, quantiles),
        "train_s": train_s,
        "predict_s": predict_s,
    }


def part_pytorch_forecasting(args) -> dict:
    import warnings

    import lightning.pytorch as pl
    import pandas as pd
    import torch
    from pytorch_forecasting import TemporalFusionTransformer, TimeSeriesDataSet
    from pytorch_forecasting.metrics import QuantileLoss

    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    clean, store, origin = load()
    frame = clean.copy()
    days = frame["date"].to_numpy(dtype="datetime64[D]").astype(np.int64)
    frame["time_idx"] = days - days.min()
    for column in ("item_id", "location_id", "dept_id", "cat_id", "state_id", "event_type_1"):
        frame[column] = frame[column].astype(str)
    frame["snap"] = frame["snap"].astype(str)
    frame["day_of_week"] = frame["date"].dt.dayofweek.astype(str)
    frame["day_of_month"] = frame["date"].dt.day.astype(str)
    frame["month"] = frame["date"].dt.month.astype(str)
    cutoff = int((store.dates[origin] - clean["date"].min()).days)
    history = frame[frame["time_idx"] < cutoff]

    start = time.perf_counter()
    pl.seed_everything(0, verbose=False)
    training = TimeSeriesDataSet(
        history[history["time_idx"] < cutoff - HORIZON],
        time_idx="time_idx",
        target="demand",
        group_ids=["item_id", "location_id"],
        max_encoder_length=ENCODER,
        min_encoder_length=7,
        max_prediction_length=HORIZON,
        min_prediction_length=HORIZON,
        static_categoricals=["item_id", "location_id", "dept_id", "cat_id", "state_id"],
        time_varying_known_categoricals=[
            "event_type_1", "snap", "day_of_week", "day_of_month", "month",
        ],
        time_varying_known_reals=["sell_price"],
        time_varying_unknown_reals=["demand"],
        add_target_scales=True,
        add_encoder_length=True,
    )  # fmt: skip
    validation = TimeSeriesDataSet.from_dataset(training, history, predict=True)
    loader = training.to_dataloader(train=True, batch_size=BATCH, num_workers=0)
    val_loader = validation.to_dataloader(train=False, batch_size=BATCH * 4, num_workers=0)
    model = TemporalFusionTransformer.from_dataset(
        training,
        hidden_size=SIZE["hidden_size"],
        attention_head_size=SIZE["attention_heads"],
        hidden_continuous_size=SIZE["hidden_continuous_size"],
        dropout=SIZE["dropout"],
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
    trainer.fit(model, train_dataloaders=loader, val_dataloaders=val_loader)
    train_s = time.perf_counter() - start

    start = time.perf_counter()
    predict_set = TimeSeriesDataSet.from_dataset(training, history, predict=True)
    output = model.predict(
        predict_set.to_dataloader(train=False, batch_size=1024, num_workers=0),
        mode="quantiles",
        return_index=True,
        trainer_kwargs={"logger": False, "enable_progress_bar": False},
    )
    predict_s = time.perf_counter() - start
    quantiles = output.output.cpu().numpy()
    index = output.index
    position = {
        key: k for k, key in enumerate(zip(index["item_id"], index["location_id"], strict=True))
    }
    keys = store.keys[["item_id", "location_id"]].astype(str).itertuples(index=False)
    order = [position[tuple(key)] for key in keys]
    return {
        "train_samples_per_s": args.steps * BATCH / train_s,
        "predict_series_per_s": len(index) / predict_s,
        "peak_rss_mb": harness.peak_rss_mb(),
        **score(store, origin, quantiles[order]),
        "train_s": train_s,
        "predict_s": predict_s,
        "series_predicted": len(index),
        "pandas": pd.__version__,
    }


PARTS = {"stockcast": part_stockcast, "pytorch_forecasting": part_pytorch_forecasting}


def run_part(name: str, args) -> dict:
    flags = [
            "--steps", str(args.steps), "--threads", str(args.threads),
            "--accelerator", args.accelerator,
        ]  # fmt: skip
    return harness.run_part(__file__, name, flags)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--part", choices=sorted(PARTS), help=argparse.SUPPRESS)
    parser.add_argument("--part-out", help=argparse.SUPPRESS)
    parser.add_argument("--steps", type=int, default=400, help="optimizer steps [400]")
    parser.add_argument("--threads", type=int, default=2, help="torch threads [2]")
    parser.add_argument("--accelerator", default="cpu", choices=("cpu", "cuda", "gpu"))
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON to write")
    args = parser.parse_args()
    if args.part:
        Path(args.part_out).write_text(json.dumps(PARTS[args.part](args)))
        return
    if not M5.exists():
        sys.exit(f"{M5} not found: this benchmark needs ../shared/data")
    theirs = run_part("pytorch_forecasting", args)
    ours = run_part("stockcast", args)
    result = {
        "pytorch_forecasting": theirs,
        "stockcast": ours,
        "train_speedup": ours["train_samples_per_s"] / theirs["train_samples_per_s"],
        "predict_speedup": ours["predict_series_per_s"] / theirs["predict_series_per_s"],
        "settings": {
            "steps": args.steps, "batch_size": BATCH, "encoder": ENCODER, "horizon": HORIZON,
            "quantiles": QUANTILES, **SIZE, "threads": args.threads,
            "accelerator": args.accelerator,
        },
    }  # fmt: skip
    harness.write_json(result, args.out)

    columns = ["train_samples_per_s", "predict_series_per_s", "peak_rss_mb", "sql", "wape", "mase"]
    setting = f"{args.steps} steps of {BATCH}, {args.accelerator}, {args.threads} threads"
    print(f"\nTFT on m5_tiny, {setting}")
    print(f"{'':<22}" + "".join(f"{c:>22}" for c in columns))
    for name, row in (("pytorch-forecasting", theirs), ("stockcast", ours)):
        print(f"{name:<22}" + "".join(f"{row[c]:>22.3f}" for c in columns))
    print(
        f"train speedup {result['train_speedup']:.1f}x (target 2x), "
        f"predict speedup {result['predict_speedup']:.1f}x (target 5x)"
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

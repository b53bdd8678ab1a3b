"""Windowing speed and memory: stockcast's store vs pytorch-forecasting's TimeSeriesDataSet.

    python benchmarks/forecast_windows.py                  # writes results/forecast_windows.json
    python benchmarks/forecast_windows.py --series 100000  # a smaller synthetic panel

Each measurement runs in its own subprocess so peak RSS belongs to one pipeline only.

* m5_tiny (``../shared/data/m5_tiny.parquet``): the same validated frame goes to both sides, with
  the same encoder (56) / decoder (28) lengths and batch size (128). Build time is validation +
  store (ours) or the TimeSeriesDataSet constructor (theirs); batches/s is a pass of training
  batches without a model (theirs through its own ``to_dataloader(train=True)``, ours through
  the random window sampler). TimeSeriesDataSet's pass is capped (``--tsds-batches``) because a
  full pass takes many minutes; its rate is steady across the pass.
* synthetic_1m: a 1,000,000-series x 730-day network generated as arrays, then the store built
  from them; the raw bytes are the generated arrays (demand, prices, promotions, weather,
  events), the store's own bytes and the process' peak RSS are compared with them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import _harness as harness  # benchmarks/ is on sys.path when run as a script

ROOT = harness.ROOT
RESULTS = ROOT / "benchmarks" / "results" / "forecast_windows.json"
M5 = ROOT.parent / "shared" / "data" / "m5_tiny.parquet"
ENCODER, DECODER, BATCH = 56, 28, 128


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def m5_frame():
    from forecasting.io import load_panel
    from forecasting.spec import M5_SPEC
    from forecasting.validate import validate_panel

    clean, report = validate_panel(load_panel(M5, M5_SPEC), M5_SPEC)
    return clean, M5_SPEC.with_freq(report.freq)


def part_stockcast(args) -> dict:
    import torch

    from forecasting import Forecaster
    from forecasting.spec import M5_SPEC
    from forecasting.windows import WindowSampler, default_prior_scale
    from kernels.io import read_table

    torch.set_num_threads(args.threads)
    frame = read_table(M5)
    start = time.perf_counter()
    store = Forecaster(spec=M5_SPEC).store(frame)  # map columns, validate, build
    build = time.perf_counter() - start
    sampler = WindowSampler(
        store, ENCODER, DECODER, BATCH, args.batches, default_prior_scale(store), seed=0,
        min_encoder_length=7,
    )  # fmt: skip
    next(iter(sampler))  # warm-up
    start = time.perf_counter()
    count = sum(1 for _ in sampler)
    elapsed = time.perf_counter() - start
    return {
        "build_s": build,
        "peak_rss_mb": harness.peak_rss_mb(),
        "batches_per_s": count / elapsed,
        "batches": count,
        "training_windows": sampler.total,
    }


def part_tsds(args) -> dict:
    import warnings

    import torch
    from pytorch_forecasting import TimeSeriesDataSet

    from forecasting.validate import period_index

    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    clean, spec = m5_frame()
    frame = clean.copy()
    frame["time_idx"] = period_index(frame["date"], "D") - period_index(frame["date"], "D").min()
    for column in ("item_id", "location_id", "dept_id", "cat_id", "state_id", "event_type_1"):
        frame[column] = frame[column].astype(str)
    frame["snap"] = frame["snap"].astype(str)
    start = time.perf_counter()
    dataset = TimeSeriesDataSet(
        frame,
        time_idx="time_idx",
        target="demand",
        group_ids=["item_id", "location_id"],
        max_encoder_length=ENCODER,
        min_encoder_length=7,
        max_prediction_length=DECODER,
        min_prediction_length=DECODER,
        static_categoricals=["item_id", "location_id", "dept_id", "cat_id", "state_id"],
        time_varying_known_categoricals=["event_type_1", "snap"],
        time_varying_known_reals=["sell_price"],
        time_varying_unknown_reals=["demand"],
        add_target_scales=True,
        add_encoder_length=True,
    )
    build = time.perf_counter() - start
    loader = dataset.to_dataloader(train=True, batch_size=BATCH, num_workers=0)
    iterator = iter(loader)
    next(iterator)  # warm-up
    limit = args.tsds_batches or len(loader) - 1
    start = time.perf_counter()
    count = 0
    for _ in iterator:
        count += 1
        if count >= limit:
            break
    elapsed = time.perf_counter() - start
    return {
        "build_s": build,
        "peak_rss_mb": harness.peak_rss_mb(),
        "batches_per_s": count / elapsed,
        "batches": count,
        "batches_in_full_pass": len(loader),
    }


def part_synthetic(args) -> dict:
    import numpy as np
    import torch

    from forecasting.synthetic import generate_network
    from forecasting.windows import WindowSampler

    torch.set_num_threads(args.threads)
    baseline = rss_mb()
    n_locations = 100
    start = time.perf_counter()
    network = generate_network(
        n_items=args.series // n_locations, n_locations=n_locations, n_days=730, seed=0,
        lead_time_orders=0,
    )  # fmt: skip
    generate = time.perf_counter() - start
    raw = network.demand.nbytes + network.price.nbytes + network.promo.nbytes
    raw += network.temperature.nbytes + network.event.nbytes
    after_generate = rss_mb()
    start = time.perf_counter()
    store = network.to_store()
    build = time.perf_counter() - start
    sampler = WindowSampler(store, ENCODER, DECODER, BATCH, 200, 1.0, seed=0)
    next(iter(sampler))
    start = time.perf_counter()
    count = sum(1 for _ in sampler)
    rate = count / (time.perf_counter() - start)
    peak = harness.peak_rss_mb()
    return {
        "series": int(network.n_series),
        "days": 730,
        "generate_s": generate,
        "build_s": build,
        "raw_mb": raw / 2**20,
        "store_mb": store.nbytes() / 2**20,
        "rss_before_mb": baseline,
        "rss_after_generate_mb": after_generate,
        "peak_rss_mb": peak,
        "overhead_ratio": (peak - baseline) / (raw / 2**20),
        "batches_per_s": rate,
        "float_bytes_per_value": int(np.dtype(np.float32).itemsize),
    }


PARTS = {"stockcast": part_stockcast, "tsds": part_tsds, "synthetic": part_synthetic}


def run_part(name: str, args) -> dict:
    flags = [
            "--series", str(args.series), "--batches", str(args.batches),
            "--tsds-batches", str(args.tsds_batches), "--threads", str(args.threads),
        ]  # fmt: skip
    return harness.run_part(__file__, name, flags)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--part", choices=sorted(PARTS), help=argparse.SUPPRESS)
    parser.add_argument("--part-out", help=argparse.SUPPRESS)
    parser.add_argument("--series", type=int, default=1_000_000, help="synthetic series [1e6]")
    parser.add_argument("--batches", type=int, default=2000, help="stockcast batches to time")
    parser.add_argument(
        "--tsds-batches", type=int, default=300, help="TimeSeriesDataSet batches to time (0: all)"
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--out", type=Path, default=RESULTS, help="JSON to write")
    args = parser.parse_args()
    if args.part:
        Path(args.part_out).write_text(json.dumps(PARTS[args.part](args)))
        return
    if not M5.exists():
        sys.exit(f"{M5} not found: the m5_tiny comparison needs ../shared/data")

    ours, theirs = run_part("stockcast", args), run_part("tsds", args)
    synthetic = run_part("synthetic", args)
    result = {
        "m5_tiny": {
            "timeseriesdataset": theirs,
            "stockcast": ours,
            "speedup": ours["batches_per_s"] / theirs["batches_per_s"],
            "build_speedup": theirs["build_s"] / ours["build_s"],
            "rss_ratio": theirs["peak_rss_mb"] / ours["peak_rss_mb"],
            "settings": {"encoder": ENCODER, "decoder": DECODER, "batch_size": BATCH},
        },
        "synthetic_1m": synthetic,
    }
    harness.write_json(result, args.out)

    print(f"\nm5_tiny, encoder {ENCODER}, decoder {DECODER}, batch {BATCH}")
    print(f"{'':<20}{'build s':>10}{'peak RSS MB':>14}{'batches/s':>12}")
    for name, row in (("TimeSeriesDataSet", theirs), ("stockcast", ours)):
        print(
            f"{name:<20}{row['build_s']:>10.2f}{row['peak_rss_mb']:>14.0f}{row['batches_per_s']:>12.1f}"
        )
    m5 = result["m5_tiny"]
    print(
        f"{'ratio':<20}{m5['build_speedup']:>9.1f}x{m5['rss_ratio']:>13.2f}x{m5['speedup']:>11.1f}x"
    )
    s = synthetic
    print(f"\nsynthetic {s['series']:,} series x {s['days']} days")
    print(f"  generate {s['generate_s']:.1f} s, store build {s['build_s']:.1f} s")
    print(f"  raw {s['raw_mb']:.0f} MB, store {s['store_mb']:.0f} MB", end=", ")
    print(f"peak RSS {s['peak_rss_mb']:.0f} MB")
    print(f"  RSS growth / raw bytes: {s['overhead_ratio']:.2f}x (target < 2x)")
    print(f"  random batches/s on the 1M store: {s['batches_per_s']:.1f}")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()

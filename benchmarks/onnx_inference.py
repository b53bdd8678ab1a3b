"""onnxruntime vs PyTorch eager on the CPU, per exported model, side by side in one run.

    python benchmarks/onnx_inference.py              # writes results/onnx_inference.json
    python benchmarks/onnx_inference.py --repeats 3  # a quick look

For each model the same exported graph runs on the same inputs in both engines, alternating
repeats of the two sides (so the load of a shared machine falls on both) and reporting medians:

* throughput: rows per second (forecast windows / inspected items) at a large batch;
* latency: batch-1 p50 / p99 in milliseconds;
* for the forecasting models also the whole table path on m5_tiny (validate, grid, windows,
  inference, table): ``Forecaster.predict`` in torch against ``ForecastPackage.predict``.

PyTorch runs the graph module the export traced (``ForecastGraph``: preprocessing + network) in
``torch.inference_mode`` with the same thread count as onnxruntime's session.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _harness as harness  # benchmarks/ is on sys.path when run as a script
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "onnx_inference.json"
M5 = ROOT.parent / "shared" / "data" / "m5_tiny.parquet"
HORIZON = 28


def timed(fn, repeats: int = 1) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def interleave(sides: dict, repeats: int) -> dict[str, list[float]]:
    """Alternate the sides ``repeats`` times; seconds per call of each side, every repeat."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeats):
        for name, fn in sides.items():
            times[name].append(timed(fn))
    return times


def latency(sides: dict, calls: int) -> dict[str, dict[str, float]]:
    """Batch-1 latency: calls alternate between the sides; p50 / p99 in ms."""
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(calls):
        for name, fn in sides.items():
            samples[name].append(1000 * timed(fn))
    return {
        name: {"p50_ms": float(np.percentile(v, 50)), "p99_ms": float(np.percentile(v, 99))}
        for name, v in samples.items()
    }


def forecast_model(name: str, frame, args) -> dict:
    """Train a small network on m5_tiny, export it, and time both engines."""
    import torch

    from forecasting import Forecaster
    from forecasting.spec import M5_SPEC
    from serving.export import export_run
    from serving.export.forecast import ForecastGraph, codes_of
    from serving.runtime import ForecastPackage
    from training import TrainConfig

    work = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    train = TrainConfig(max_epochs=1, batches_per_epoch=args.steps, progress_bar=False)
    forecaster = Forecaster(name, HORIZON, spec=M5_SPEC, train=train, hidden_size=32)
    forecaster.fit(frame, run_dir=work / "run")
    package = ForecastPackage(export_run(work / "run", work / "repo"), threads=args.threads)
    model = forecaster.model_
    graph = ForecastGraph(model.net, model.encoder_length, M5_SPEC.frequency, True).eval()
    every = package.prepare(frame)  # every series' window from its last observation
    copies = -(-args.batch // every.n_windows)
    feeds = {k: np.concatenate([v] * copies)[: args.batch] for k, v in every.feeds.items()}
    one = {k: v[:1] for k, v in feeds.items()}
    tensors, tensors_one = codes_of(feeds, package.pre), codes_of(one, package.pre)

    def torch_run(t) -> None:
        with torch.inference_mode():
            graph(**t)

    throughput = interleave(
        {"pytorch": lambda: torch_run(tensors), "onnxruntime": lambda: package.model.run(feeds)},
        args.repeats,
    )
    lat = latency(
        {"pytorch": lambda: torch_run(tensors_one), "onnxruntime": lambda: package.model.run(one)},
        args.latency_calls,
    )
    tables = interleave(
        {
            "pytorch": lambda: forecaster.predict(frame),
            "onnxruntime": lambda: package.predict(frame),
        },
        args.repeats,
    )
    rates = {k: args.batch / statistics.median(v) for k, v in throughput.items()}
    table_rates = {k: every.n_windows / statistics.median(v) for k, v in tables.items()}
    return {
        "throughput_rows_per_s": rates,
        "throughput_ratio": rates["onnxruntime"] / rates["pytorch"],
        "latency_batch1": lat,
        "table_series_per_s": table_rates,
        "table_ratio": table_rates["onnxruntime"] / table_rates["pytorch"],
        "batch": args.batch,
        "series": every.n_windows,
        "provider": package.provider,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=256, help="rows per throughput call")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved repeats per side")
    parser.add_argument("--latency-calls", type=int, default=200)
    parser.add_argument("--steps", type=int, default=20, help="training batches before export")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    import onnxruntime
    import pandas as pd
    import torch

    from kernels.io import read_table

    torch.set_num_threads(args.threads)
    if not M5.exists():
        sys.exit(f"{M5}: the shared m5_tiny data is needed")
    frame = read_table(M5)
    # The last 28 days become the forecast's future rows: prices known, demand not.
    dates = pd.to_datetime(frame["date"])
    frame.loc[dates > dates.max() - pd.Timedelta(days=HORIZON), "sales"] = np.nan
    models = {}
    for name in ("lstm", "tft"):
        models[name] = forecast_model(name, frame, args)
        print(f"{name}: {models[name]['throughput_ratio']:.2f}x throughput", flush=True)
    results = {
        "models": models,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__},
    }
    harness.write_json(results, args.out)
    print(
        "\n| model | rows/s PyTorch | rows/s onnxruntime | ratio | p50 ms PT / ORT "
        "| p99 ms PT / ORT | table series/s PT / ORT |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in results["models"].items():
        t, lat, tab = r["throughput_rows_per_s"], r["latency_batch1"], r["table_series_per_s"]
        pt, ort = lat["pytorch"], lat["onnxruntime"]
        print(
            f"| {name} | {t['pytorch']:.0f} | {t['onnxruntime']:.0f} | "
            f"**{r['throughput_ratio']:.1f}x** | {pt['p50_ms']:.2f} / {ort['p50_ms']:.2f} | "
            f"{pt['p99_ms']:.2f} / {ort['p99_ms']:.2f} | {tab['pytorch']:.0f} / "
            f"{tab['onnxruntime']:.0f} |"
        )
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()

"""onnxruntime vs PyTorch eager on the CPU, per exported model, side by side in one run.

    python benchmarks/onnx_inference.py              # writes results/onnx_inference.json
    python benchmarks/onnx_inference.py --repeats 3  # a quick look
    python benchmarks/onnx_inference.py --models inspection --out /tmp/x.json  # one model

For each model the same exported graph runs on the same inputs in both engines, alternating
repeats of the two sides (so the load of a shared machine falls on both) and reporting medians:

* throughput: rows per second (forecast windows / inspected items) at a large batch;
* latency: batch-1 p50 / p99 in milliseconds;
* for the forecasting models also the whole table path on m5_tiny (validate, grid, windows,
  inference, table): ``Forecaster.predict`` in torch against ``ForecastPackage.predict``.

PyTorch runs the graph module the export traced (``ForecastGraph`` / ``InspectionGraph``:
preprocessing + network) in ``torch.inference_mode``. Each engine runs at every thread count from
1 to ``--threads`` (interleaved with the others) and is reported at its best count, which the
JSON records beside every count's figures: on the 2-core AMD EPYC machine PyTorch answered a
single forecasting window faster on one thread than on two (LSTM p50 0.70 against 1.10 ms)
and a batch of 256 faster on two, and onnxruntime's TFT ran a batch as fast on one thread as on
two, so one fixed count for both sides would not show either at its best.

The inspection CNN (the default ``InspectionNet``: resnet18, 128 px, 6 views) is trained on 300
items of a synthetic tunnel for 10 epochs (3 gave a model worse than passing every item, on
which an int8 accuracy change says nothing) and exported with its int8 graph (static
quantization calibrated on the run's data); fp32 and int8 onnxruntime run against PyTorch on
600 items of a fresh held-out tunnel, and the int8 accuracy change is reported twice: from the
package manifest (the run's validation split) and on the held-out tunnel (per-class AUROC,
any-defect accuracy with the calibrated thresholds, verdict agreement with fp32).

For the inspection CNN the run also reads how close each engine comes to the machine's limit:
the convolutions' arithmetic per item (counted with hooks) times each engine's items/s, as a
share of what a large fp32 matrix product reaches on the same threads (``compute``). A
convolution engine does not run far above that rate, so it bounds the fp32 speedup any engine
can have over PyTorch here.
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


def turn(setup, fn) -> None:
    """Start a side's turn: its setup (or None), then one untimed call.

    Both engines keep their worker threads spinning for a while after a call, so a call timed
    right after the other engine's shares the cores with those spinning threads (on 2 cores
    PyTorch's LSTM graph ran at 10,100-17,200 windows/s timed right after onnxruntime's calls,
    at 22,800-27,600 in turns of its own).
    The untimed call lets the other engine go quiet and warms this one, as in a process that
    runs one engine."""
    if setup is not None:
        setup()
    fn()


def interleave(sides: dict, repeats: int, calls: int = 3) -> dict[str, list[float]]:
    """Alternate the sides ``repeats`` times, ``calls`` timed calls per turn; seconds per call
    of each side, one mean per turn.

    A side is ``(setup, fn)``; see :func:`turn`."""
    times: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(repeats):
        for name, (setup, fn) in sides.items():
            turn(setup, fn)
            times[name].append(timed(fn, calls))
    return times


def latency(sides: dict, calls: int, burst: int = 20) -> dict[str, dict[str, float]]:
    """Batch-1 latency of the ``(setup, fn)`` sides: turns of ``burst`` timed calls alternate
    between them until each has ``calls``; p50 / p99 in ms."""
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(-(-calls // burst)):
        for name, (setup, fn) in sides.items():
            turn(setup, fn)
            samples[name].extend(1000 * timed(fn) for _ in range(burst))
    return {
        name: {"p50_ms": float(np.percentile(v, 50)), "p99_ms": float(np.percentile(v, 99))}
        for name, v in samples.items()
    }


def torch_threads(count: int):
    """Untimed setup of a PyTorch side: its intra-op pool at ``count`` threads."""
    import torch

    return lambda: torch.set_num_threads(count)


def engine_of(side: str) -> tuple[str, int]:
    """``"onnxruntime@2"`` -> ``("onnxruntime", 2)``."""
    engine, count = side.rsplit("@", 1)
    return engine, int(count)


def best_by_engine(values: dict[str, float], lower: bool = False) -> dict[str, tuple[float, int]]:
    """Each engine's best figure over its thread counts and the count that gave it."""
    best: dict[str, tuple[float, int]] = {}
    for side, value in values.items():
        engine, count = engine_of(side)
        if engine not in best or (value < best[engine][0] if lower else value > best[engine][0]):
            best[engine] = (value, count)
    return best


def at_best(rates: dict, lat: dict, tables: dict | None = None) -> dict:
    """Throughput (highest rows/s), batch-1 latency (lowest p50) and table rates of each engine
    at its best thread count, with the counts and every count's figures."""
    fast = best_by_engine(rates)
    quick = best_by_engine({k: v["p50_ms"] for k, v in lat.items()}, lower=True)
    out = {
        "throughput_rows_per_s": {e: v for e, (v, _) in fast.items()},
        "latency_batch1": {e: lat[f"{e}@{t}"] for e, (_, t) in quick.items()},
        "best_threads": {
            "throughput": {e: t for e, (_, t) in fast.items()},
            "latency": {e: t for e, (_, t) in quick.items()},
        },
        "by_threads": {"throughput_rows_per_s": rates, "latency_batch1": lat},
    }
    if tables is not None:
        table_best = best_by_engine(tables)
        out["table_series_per_s"] = {e: v for e, (v, _) in table_best.items()}
        out["best_threads"]["table"] = {e: t for e, (_, t) in table_best.items()}
        out["by_threads"]["table_series_per_s"] = tables
    return out


def gemm_rate(repeats: int = 7, size: int = 2048) -> float:
    """GFLOP/s of a large fp32 matrix product in PyTorch on this process's threads: the best
    dense fp32 rate a tuned library reaches on this machine, against which a convolution
    engine's rate is read (convolutions, lowered to the same multiply-adds, do not run far
    above it)."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    seconds = statistics.median(timed(lambda: torch.mm(a, b)) for _ in range(repeats))
    return 2 * size**3 / seconds / 1e9


def conv_flops_per_item(net, feeds: dict) -> float:
    """Floating-point operations of every convolution of ``net`` per item (multiply and add
    counted apart), counted with forward hooks on one batch."""
    import torch

    total = 0

    def count(module, inputs, output) -> None:
        nonlocal total
        weight = module.weight
        total += 2 * output.numel() * weight.shape[1] * weight.shape[2] * weight.shape[3]

    hooks = [m.register_forward_hook(count) for m in net.modules()
             if isinstance(m, torch.nn.Conv2d)]  # fmt: skip
    try:
        with torch.inference_mode():
            net(**{k: torch.from_numpy(v) for k, v in feeds.items()})
    finally:
        for hook in hooks:
            hook.remove()
    return total / len(feeds["images"])


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
    folder = export_run(work / "run", work / "repo")
    counts = range(1, args.threads + 1)
    packages = {t: ForecastPackage(folder, threads=t) for t in counts}
    package = packages[args.threads]
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

    def sides(torch_fn, ort_fn) -> dict:
        out = {}
        for t in counts:
            out[f"pytorch@{t}"] = (torch_threads(t), torch_fn)
            out[f"onnxruntime@{t}"] = (None, lambda p=packages[t]: ort_fn(p))
        return out

    throughput = interleave(
        sides(lambda: torch_run(tensors), lambda p: p.model.run(feeds)), args.repeats
    )
    lat = latency(
        sides(lambda: torch_run(tensors_one), lambda p: p.model.run(one)), args.latency_calls
    )
    tables = interleave(
        sides(lambda: forecaster.predict(frame), lambda p: p.predict(frame)), args.repeats
    )
    torch.set_num_threads(args.threads)
    best = at_best(
        {k: args.batch / statistics.median(v) for k, v in throughput.items()},
        lat,
        {k: every.n_windows / statistics.median(v) for k, v in tables.items()},
    )
    rates, table_rates = best["throughput_rows_per_s"], best["table_series_per_s"]
    return {
        **best,
        "throughput_ratio": rates["onnxruntime"] / rates["pytorch"],
        "table_ratio": table_rates["onnxruntime"] / table_rates["pytorch"],
        "batch": args.batch,
        "series": every.n_windows,
        "provider": package.provider,
    }


def inspection_model(args) -> dict:
    """Train the default inspection network briefly, export it with int8, time the engines."""
    import torch

    from serving.export import export_run
    from serving.export.inspection import InspectionGraph
    from serving.package import read_package
    from serving.runtime import InspectionPackage
    from training import ImageTrainConfig
    from vision import Inspector
    from vision.items import ItemLoader
    from vision.metrics import per_class_auroc
    from vision.schema import score_column
    from vision.synthetic import write_synthetic_dataset

    work = Path(tempfile.mkdtemp(prefix="bench-inspection-"))
    size = args.image_size
    tunnel = write_synthetic_dataset(
        work / "tunnel", args.vision_items, seed=1, image_size=size, defect_rate=0.3,
        progress=False,
    )  # fmt: skip
    heldout = write_synthetic_dataset(
        work / "heldout", args.heldout_items, seed=2, image_size=size, defect_rate=0.3,
        progress=False,
    )  # fmt: skip
    started = time.perf_counter()
    train = ImageTrainConfig(max_epochs=args.epochs, accelerator="cpu", progress_bar=False, seed=0)
    # Width 64 and one pass per view: the network these figures were measured with (the
    # defaults became width 32 and a mirrored second pass for tunnels later).
    inspector = Inspector(
        width=64, image_size=size, tta="none", train=train, target_frr=0.05, review_rate=0.05
    )
    inspector.fit(tunnel, run_dir=work / "run")
    train_minutes = (time.perf_counter() - started) / 60
    package_dir = export_run(work / "run", work / "repo", "inspect", quantize=True)
    manifest = read_package(package_dir)
    engines = {
        "onnxruntime": InspectionPackage(package_dir, threads=args.threads),
        "onnxruntime_int8": InspectionPackage(package_dir, threads=args.threads, quantized=True),
    }
    graph = InspectionGraph(inspector.net.cpu()).eval()
    fp32 = engines["onnxruntime"]
    loader = ItemLoader(
        fp32.items(heldout), fp32.view_names, size, fp32.image_mode,
        fp32.catalog.for_items(None), fp32.class_names, fp32.data.min_view_size,
    )  # fmt: skip
    samples = [loader.load(i % len(loader)) for i in range(args.vision_batch)]
    feeds = {k: np.stack([s[k] for s in samples]) for k in ("images", "view_mask", "catalog")}
    one = {k: v[:1] for k, v in feeds.items()}
    tensors = {k: torch.from_numpy(v) for k, v in feeds.items()}
    tensors_one = {k: v[:1] for k, v in tensors.items()}

    def torch_run(t) -> None:
        with torch.inference_mode():
            graph(**t)

    counts = range(1, args.threads + 1)
    sessions = {
        (name, t): (
            engine
            if t == args.threads
            else InspectionPackage(package_dir, threads=t, quantized=name.endswith("int8"))
        ).model
        for name, engine in engines.items()
        for t in counts
    }

    def sides(torch_feeds, ort_feeds) -> dict:
        out = {f"pytorch@{t}": (torch_threads(t), lambda: torch_run(torch_feeds)) for t in counts}
        for (name, t), session in sessions.items():
            out[f"{name}@{t}"] = (None, lambda s=session: s.run(ort_feeds))
        return out

    throughput = interleave(sides(tensors, feeds), args.repeats, calls=1)
    lat = latency(sides(tensors_one, one), args.latency_calls)
    torch.set_num_threads(args.threads)
    rates = {k: args.vision_batch / statistics.median(v) for k, v in throughput.items()}
    best = at_best(rates, lat)
    rates = best["throughput_rows_per_s"]
    # How close each engine runs to the machine's dense fp32 rate: the convolutions are nearly
    # all of the network's arithmetic, so this bounds what any engine can gain.
    flops = conv_flops_per_item(graph, feeds)
    gemm = gemm_rate()
    compute = {
        "conv_gflop_per_item": flops / 1e9,
        "fp32_gemm_gflops_per_s": gemm,
        "conv_gflops_per_s": {k: r * flops / 1e9 for k, r in rates.items()},
        "share_of_gemm_rate": {k: r * flops / 1e9 / gemm for k, r in rates.items()},
    }

    # Accuracy on the fresh held-out tunnel: PyTorch, fp32 and int8 through the same tables.
    tables = {"pytorch": inspector.score(heldout, progress=False, heatmaps=False)[0]}
    for name, engine in engines.items():
        tables[name] = engine.score(heldout, progress=False, heatmaps=False)[0]
    labels = fp32.items(heldout).label_matrix()
    defect = (labels >= 0.5).any(axis=1)
    columns = [score_column(c) for c in fp32.class_names]
    accuracy = {}
    for name, table in tables.items():
        probs = table[columns].to_numpy(dtype=float)
        accuracy[name] = {
            "auroc": per_class_auroc(labels, probs, fp32.class_names),
            "any_defect_accuracy": float(((table["verdict"] == "reject") == defect).mean()),
            "verdict_agreement_with_pytorch": float(
                (table["verdict"] == tables["pytorch"]["verdict"]).mean()
            ),
        }
    points = 100 * (
        accuracy["onnxruntime_int8"]["any_defect_accuracy"]
        - accuracy["onnxruntime"]["any_defect_accuracy"]
    )
    return {
        **best,
        "throughput_ratio": rates["onnxruntime"] / rates["pytorch"],
        "throughput_ratio_int8": rates["onnxruntime_int8"] / rates["pytorch"],
        "int8_accuracy_change_points": points,
        "accuracy_heldout": accuracy,
        "int8_manifest_evaluation": manifest["quantized"]["evaluation"],
        "compute": compute,
        "parity_max_relative_error": manifest["parity"]["max_relative_error"],
        "batch": args.vision_batch,
        "rows": "items (6 views each)",
        "model": {"backbone": "resnet18", "width": 64, "image_size": size, "views": 6},
        "training": {"items": args.vision_items, "epochs": args.epochs,
                     "minutes": round(train_minutes, 2),
                     "best_validation": inspector.metrics.get("best_validation")},
        "heldout_items": args.heldout_items,
        "provider": fp32.provider,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=256, help="rows per throughput call")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved repeats per side")
    parser.add_argument("--latency-calls", type=int, default=200)
    parser.add_argument("--steps", type=int, default=20, help="training batches before export")
    parser.add_argument(
        "--models", default="lstm,tft,inspection", help="comma-separated: lstm, tft, inspection"
    )
    parser.add_argument("--vision-items", type=int, default=300, help="inspection training items")
    parser.add_argument("--heldout-items", type=int, default=600, help="fresh items scored")
    parser.add_argument("--epochs", type=int, default=10, help="inspection training epochs")
    parser.add_argument("--image-size", type=int, default=128, help="inspection input size")
    parser.add_argument("--vision-batch", type=int, default=32, help="items per throughput call")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    import onnxruntime
    import pandas as pd
    import torch

    from kernels.io import read_table

    torch.set_num_threads(args.threads)
    wanted = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(wanted) - {"lstm", "tft", "inspection"})
    if unknown:
        sys.exit(f"--models: unknown {unknown}; choose from lstm, tft, inspection")
    models = {}
    forecast_models = [m for m in wanted if m in ("lstm", "tft")]
    if forecast_models:
        if not M5.exists():
            sys.exit(f"{M5}: the shared m5_tiny data is needed")
        frame = read_table(M5)
        # The last 28 days become the forecast's future rows: prices known, demand not.
        dates = pd.to_datetime(frame["date"])
        frame.loc[dates > dates.max() - pd.Timedelta(days=HORIZON), "sales"] = np.nan
        for name in forecast_models:
            models[name] = forecast_model(name, frame, args)
            print(f"{name}: {models[name]['throughput_ratio']:.2f}x throughput", flush=True)
    if "inspection" in wanted:
        models["inspection"] = r = inspection_model(args)
        print(
            f"inspection: {r['throughput_ratio']:.2f}x throughput fp32, "
            f"{r['throughput_ratio_int8']:.2f}x int8 "
            f"({r['int8_accuracy_change_points']:+.1f} points any-defect accuracy)",
            flush=True,
        )
        c = r["compute"]
        shares = ", ".join(f"{k} {v:.0%}" for k, v in c["share_of_gemm_rate"].items())
        print(
            f"inspection convolutions: {c['conv_gflop_per_item']:.1f} GFLOP per item; "
            f"share of the {c['fp32_gemm_gflops_per_s']:.0f} GFLOP/s fp32 matrix-product rate: "
            f"{shares}",
            flush=True,
        )
    results = {
        "models": models,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__},
    }
    harness.write_json(results, args.out)
    print("\nEach engine at its best thread count (throughput / latency), in brackets.")
    print(
        "\n| model | rows/s PyTorch | rows/s onnxruntime | ratio | p50 ms PT / ORT "
        "| p99 ms PT / ORT | table series/s PT / ORT |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, r in results["models"].items():
        t, lat = r["throughput_rows_per_s"], r["latency_batch1"]
        tab = r.get("table_series_per_s")
        pt, ort = lat["pytorch"], lat["onnxruntime"]
        table = f"{tab['pytorch']:.0f} / {tab['onnxruntime']:.0f}" if tab else "-"
        fast, quick = r["best_threads"]["throughput"], r["best_threads"]["latency"]
        print(
            f"| {name} | {t['pytorch']:.0f} ({fast['pytorch']}) | "
            f"{t['onnxruntime']:.0f} ({fast['onnxruntime']}) | "
            f"**{r['throughput_ratio']:.1f}x** | {pt['p50_ms']:.2f} ({quick['pytorch']}) / "
            f"{ort['p50_ms']:.2f} ({quick['onnxruntime']}) | "
            f"{pt['p99_ms']:.2f} / {ort['p99_ms']:.2f} | {table} |"
        )
        if "onnxruntime_int8" in t:
            q = lat["onnxruntime_int8"]
            print(
                f"| {name} int8 | {t['pytorch']:.0f} | {t['onnxruntime_int8']:.0f} | "
                f"**{r['throughput_ratio_int8']:.1f}x** | {pt['p50_ms']:.2f} / {q['p50_ms']:.2f} "
                f"| {pt['p99_ms']:.2f} / {q['p99_ms']:.2f} | "
                f"{r['int8_accuracy_change_points']:+.1f} points any-defect accuracy |"
            )
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()

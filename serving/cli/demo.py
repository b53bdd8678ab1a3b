"""``stockcast demo``: the main job on the embedded synthetic network."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="generate a synthetic network, backtest the LSTM against baselines, forecast",
    )
    demo.add_argument("--out", type=Path, default=Path("runs/demo"), help="run folder [runs/demo]")
    demo.add_argument("--items", type=int, default=200, help="items [200]")
    demo.add_argument("--locations", type=int, default=5, help="fulfillment centers [5]")
    demo.add_argument("--days", type=int, default=730, help="days of history [730]")
    demo.add_argument("--horizon", type=int, default=28, help="forecast horizon in days [28]")
    demo.add_argument("--origins", type=int, default=3, help="backtest origins [3]")
    demo.add_argument("--epochs", type=int, default=15, help="maximum training epochs [15]")
    demo.add_argument("--seed", type=int, default=0, help="random seed [0]")
    demo.add_argument("--no-progress", action="store_true", help="hide progress bars")
    demo.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    from serving.cli.forecast import print_summary
    from training.config import TrainConfig
    from training.demo import run_demo

    train = TrainConfig(max_epochs=args.epochs, batches_per_epoch=40, seed=args.seed)
    result, paths = run_demo(
        args.out,
        n_items=args.items,
        n_locations=args.locations,
        n_days=args.days,
        horizon=args.horizon,
        origins=args.origins,
        train=train,
        seed=args.seed,
        progress=not args.no_progress,
    )
    print_summary(result)
    print(f"\nresults in {Path(args.out).resolve()}")
    for name, path in paths.items():
        print(f"  {name:<17} {path}")
    return 0

"""``stockcast demo``: the main job on the embedded synthetic network."""

from __future__ import annotations

import argparse
from pathlib import Path

from serving.cli._options import add_settings, given
from training.config import DemoConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="generate a synthetic network, backtest the LSTM against baselines, forecast",
    )
    add_settings(demo, DemoConfig)
    demo.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    from serving.cli.forecast import print_summary
    from training.demo import run_demo

    config = DemoConfig(**given(args, DemoConfig))
    result, paths = run_demo(config.out, config)
    print_summary(result)
    print(f"\nresults in {Path(config.out).resolve()}")
    for name, path in paths.items():
        print(f"  {name:<17} {path}")
    return 0

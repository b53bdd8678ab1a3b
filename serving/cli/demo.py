"""``stockcast demo``: the whole loop on the embedded network (see :mod:`serving.demo`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from forecasting.spec import PanelSpec
from serving.cli import CliError
from serving.cli._options import add_settings, given, refuse_output_over_inputs
from serving.demo.config import DemoConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    demo = subparsers.add_parser(
        "demo",
        help="the whole loop: forecast, export, inspect, plan, simulate, monitor, report",
    )
    add_settings(demo, DemoConfig)
    data = demo.add_argument_group("a user's table instead of the embedded network")
    data.add_argument("--data", type=Path, help="daily panel (.csv or .parquet)")
    add_settings(data, PanelSpec, skip=("freq",))
    demo.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    """Run the whole loop (:func:`serving.demo.run_demo`) on the embedded network or ``--data``;
    print where the report and the other outputs are. Returns the exit status, 0."""
    from serving.demo import run_demo

    values = given(args, DemoConfig)
    config = DemoConfig(**values, explicit=tuple(values))
    mapping = given(args, PanelSpec)
    if mapping and not args.data:
        # Column flags only describe a user's table: without one they would be ignored silently.
        flags = ", ".join("--" + name.replace("_", "-") for name in mapping)
        raise CliError(f"{flags}: name the columns of a table given with --data")
    spec = PanelSpec.from_dict(mapping) if args.data else None
    out = config.effective().out  # the default, runs/demo, where --out is not given
    refuse_output_over_inputs(out, {"--data": args.data}, folder=True, what="the results")
    paths = run_demo(config, data=args.data, spec=spec)
    print(f"report: {Path(paths['report']).resolve()}")
    for name, path in paths.items():
        if name != "report":
            print(f"  {name:<13} {path}")
    return 0

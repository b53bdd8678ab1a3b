"""``stockcast export``: a training run as an ONNX model package (see :mod:`serving.export`)."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``export`` subcommand."""
    export = subparsers.add_parser(
        "export",
        help="export a run (LSTM, TFT, inspection) as an ONNX package REPO/<name>/<version>/",
    )
    export.add_argument("--run", required=True, type=Path, help="run folder from `train`")
    export.add_argument("--repo", required=True, type=Path, help="model repository folder")
    export.add_argument("--name", help="package name [the run folder's name]")
    export.add_argument("--version", help="package version [one past the latest]")
    export.add_argument(
        "--quantize",
        action="store_true",
        help="also an int8 graph of the inspection network (static, calibrated on the run's data)",
    )
    export.add_argument(
        "--network",
        help="of an auto run: export this network alone as an ONNX package (lstm, tft, lstm_nb "
        "or tft_nb); without it the whole run is packaged and served by PyTorch",
    )
    export.set_defaults(handler=export_command)


def export_command(args: argparse.Namespace) -> int:
    """Export ``--run`` into ``--repo`` as a model package (:func:`serving.export.export_run`);
    print one JSON line: the package folder, task and opset and parity error (or, for a whole
    auto run, its runtime and routing). Returns the exit status, 0."""
    import json

    from serving.export import export_run
    from serving.package import read_package

    folder = export_run(
        args.run, args.repo, args.name, args.version, quantize=args.quantize, network=args.network
    )
    manifest = read_package(folder)
    summary = {"package": str(folder), "task": manifest["task"]}
    if "parity" in manifest:
        summary["opset"] = manifest["model"]["opset"]
        summary["parity_max_relative_error"] = manifest["parity"]["max_relative_error"]
    else:  # a whole auto run: no graph, the run itself (serving.runtime.pytorch)
        summary["runtime"] = manifest["model"]["runtime"]
        summary["routing"] = manifest["routing"]["choice"]
    print(json.dumps(summary))
    return 0

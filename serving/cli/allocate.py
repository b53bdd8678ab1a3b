"""``stockcast allocate``: split scarce supply across locations (:func:`kernels.allocate`).

The three tables ``allocate()`` takes are given by the flags of their names (``--demand``,
``--stock``, ``--supply``) and read as ``stockcast plan`` reads its tables (keys as text); an
error of ``allocate()`` is shown with the flag and file of the table it is about, exit status 2,
and nothing is written. The allocation is written to a temporary file beside ``--out`` (missing
folders are created) and renamed into place.
"""

from __future__ import annotations

import argparse

from serving.cli import CliError
from serving.cli._options import check_table_output, inputs_of, name_table_error, read_tables

TABLES = ("demand", "stock", "supply")

# The first word of an allocate() error (a table, or one of its columns) -> the table.
_OWNERS = {
    "demand": "demand", "sample": "demand", "step": "demand",
    "stock": "stock", "on_hand": "stock", "on_order": "stock", "backorders": "stock",
    "cap": "stock", "margin": "stock",
    "supply": "supply", "reserve": "supply", "reserve_value": "supply",
}  # fmt: skip


def register(subparsers) -> None:
    """Add the ``allocate`` subcommand."""
    p = subparsers.add_parser(
        "allocate",
        help="split scarce supply across locations to maximize expected sales or margin",
        description=(
            "Split each item's supply (units at the DC) across its locations so that the "
            "expected units sold (or margin) over the period is highest, from samples of each "
            "location's demand over that period and its stock. Writes one row per stock row: "
            "item_id, location_id, allocation, expected_sales (and expected_margin with "
            "--objective margin); units not allocated stay at the DC."
        ),
    )
    files = p.add_argument_group("tables (.parquet or .csv)")
    files.add_argument(
        "--demand",
        required=True,
        help="demand samples over the period: item_id, location_id, sample, demand (with a "
        "step column each sample's steps are summed); the same number of samples per "
        "item-location",
    )
    files.add_argument(
        "--stock",
        required=True,
        help="one row per item-location: item_id, location_id, on_hand, and optionally "
        "on_order and backorders (the period starts at on_hand + on_order - backorders), cap "
        "(most units it may receive) and margin (per unit sold, for --objective margin)",
    )
    files.add_argument(
        "--supply",
        required=True,
        help="one row per item: item_id, supply (whole units to split), and optionally reserve "
        "(units kept at the DC) and reserve_value (the DC keeps units no location values above "
        "it)",
    )
    files.add_argument(
        "--out", required=True, help="allocation table to write (missing folders are created)"
    )
    p.add_argument(
        "--objective",
        choices=("sales", "margin"),
        help="maximize expected units sold, or expected margin (the stock's margin column) [sales]",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check the output, read the tables, allocate, write the allocation atomically."""
    from kernels.io import write_table

    check_table_output(args.out, inputs_of(args, *TABLES), what="the allocation")
    tables, paths = read_tables(args, TABLES)
    if tables["stock"].empty:
        # An empty allocation would read as "send nothing".
        raise CliError(f"--stock {paths['stock']}: no rows (only a header): nothing to allocate")

    from kernels import allocate

    try:
        result = allocate(
            tables["demand"],
            tables["stock"],
            tables["supply"],
            objective=args.objective or "sales",
        )
    except ValueError as exc:
        raise CliError(name_table_error(str(exc), paths, _OWNERS)) from None
    write_table(result, args.out)
    print(
        f"allocated {result['allocation'].sum()} units to {int((result['allocation'] > 0).sum())}"
        f" of {len(result)} item-locations -> {args.out}"
    )
    return 0

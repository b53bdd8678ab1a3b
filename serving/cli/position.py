"""``stockcast position``: safety stock at a DC and its FCs (:func:`kernels.position`).

The two tables ``position()`` takes are given by the flags of their names (``--fc``, ``--dc``)
and read as ``stockcast plan`` reads its tables (keys as text); an error of ``position()`` is
shown with the flag and file of the table it is about, exit status 2, and nothing is written.
Its two plans (per FC, ``--out``; per item at the DC, ``--dc-out``) are written to temporary
files beside their targets and renamed into place together, after both are written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from serving.cli import CliError
from serving.cli._options import check_table_output, inputs_of, name_table_error, read_tables

TABLES = ("fc", "dc")

# The first word of a position() error -> its table. Fields are named "fc lead_time",
# "dc service_level"; an FC whose item has no DC row is "item_id: no DC row for FC item".
_OWNERS = {"fc": "fc", "dc": "dc", "item_id": "fc"}


def register(subparsers) -> None:
    """Add the ``position`` subcommand."""
    p = subparsers.add_parser(
        "position",
        help="place safety stock at a DC and its FCs (two-echelon guaranteed service)",
        description=(
            "Place each item's safety stock between a DC and the FCs it ships to under the "
            "guaranteed-service model: the DC's outbound service time is chosen to minimize "
            "the holding cost of both echelons' safety stock. Writes the FC plan (item_id, "
            "location_id, net_replenishment_time, safety_stock, base_stock) to --out and the "
            "DC plan (item_id, dc_service_time, dc_safety_stock, dc_base_stock, cost) to "
            "--dc-out. Times are in days, demand per day."
        ),
    )
    files = p.add_argument_group("tables (.parquet or .csv)")
    files.add_argument(
        "--fc",
        required=True,
        help="one row per item and FC: item_id, location_id, demand_mean, demand_std (per "
        "day), lead_time (DC to FC), service_level, holding_cost, and optionally service_time "
        "(the longest time promised to the FC's customers; 0 if absent)",
    )
    files.add_argument(
        "--dc",
        required=True,
        help="one row per item: item_id, lead_time (supplier to DC), service_level, "
        "holding_cost, and optionally inbound_service (the supplier's service time; 0 if "
        "absent)",
    )
    files.add_argument(
        "--out", required=True, help="FC plan to write (missing folders are created)"
    )
    files.add_argument(
        "--dc-out", required=True, help="DC plan to write (missing folders are created)"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Check the outputs, read the tables, position, write both plans."""
    from kernels.io import atomic_path, write_table_as
    from serving.cli._options import _same

    inputs = inputs_of(args, *TABLES)
    check_table_output(args.out, inputs, what="the FC plan")
    check_table_output(args.dc_out, inputs, label="--dc-out", what="the DC plan")
    if _same(Path(args.out), Path(args.dc_out)):
        raise CliError(f"--dc-out {args.dc_out}: is the --out file; write the DC plan elsewhere")
    tables, paths = read_tables(args, TABLES)
    for table in TABLES:
        if tables[table].empty:
            raise CliError(f"--{table} {paths[table]}: no rows (only a header): nothing to plan")

    from kernels import position

    try:
        dc_plan, fc_plan = position(tables["fc"], tables["dc"])
    except ValueError as exc:
        raise CliError(name_table_error(str(exc), paths, _OWNERS)) from None
    # Both written before either is renamed into place: a failure leaves neither.
    with atomic_path(args.dc_out) as dc_tmp, atomic_path(args.out) as fc_tmp:
        write_table_as(fc_plan, fc_tmp, like=args.out)
        write_table_as(dc_plan, dc_tmp, like=args.dc_out)
    print(
        f"positioned {len(dc_plan)} item(s): {fc_plan['safety_stock'].sum():.1f} units of safety "
        f"stock at {len(fc_plan)} FC rows -> {args.out}, "
        f"{dc_plan['dc_safety_stock'].sum():.1f} at the DC -> {args.dc_out}"
    )
    return 0

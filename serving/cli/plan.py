"""``stockcast plan``: replenishment plan from a forecast and an inventory table.

Argument parsing only; :func:`kernels.tables.plan` does the work (pandas and the Numba kernels are
imported inside the handler, and torch never is). Tables are ``.parquet`` or ``.csv``; the plan is
written to a temporary file beside ``--out`` and renamed into place, so a failed run leaves no
partial output.
"""

from __future__ import annotations

import argparse

from serving.cli import CliError


def _segment_levels(text: str) -> dict[str, float]:
    levels: dict[str, float] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        if not sep or not name.strip():
            raise argparse.ArgumentTypeError(f"expected SEGMENT=LEVEL, got {part!r}")
        try:
            levels[name.strip()] = float(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {value!r} in {part!r}") from None
    return levels


def register(subparsers) -> None:
    """Add the ``plan`` subcommand."""
    p = subparsers.add_parser(
        "plan",
        help="safety stock, reorder points and order quantities from a forecast",
        description=(
            "Turn a demand forecast (cumulative quantiles with a 'horizon' column, sample paths "
            "'sample, step, demand', or 'demand_mean, demand_std') and an inventory table "
            "(on_hand, on_order, backorders, lead_time_mean/std, review_period, service_level, "
            "service_type, segment, case_pack, moq, ...) into a plan per item and location."
        ),
    )
    p.add_argument("--forecast", required=True, help="forecast table (.parquet or .csv)")
    p.add_argument("--inventory", required=True, help="inventory position table")
    p.add_argument("--out", required=True, help="plan table to write (.parquet or .csv)")
    p.add_argument(
        "--lead-times",
        help="supplier lead-time records (item_id, location_id, order_date, lead_time_days)",
    )
    p.add_argument(
        "--service-level",
        type=float,
        default=0.95,
        help="target where neither the row nor its segment sets one [0.95]",
    )
    p.add_argument(
        "--service-type",
        choices=("cycle", "fill_rate", "newsvendor"),
        default="cycle",
        help="service target where the inventory has no service_type column [cycle]",
    )
    p.add_argument(
        "--segment-levels",
        type=_segment_levels,
        default={},
        metavar="SEG=LEVEL,...",
        help="service level per inventory segment, e.g. A=0.98,B=0.95,C=0.9",
    )
    p.add_argument(
        "--shape",
        choices=("normal", "gamma", "negbin"),
        default="normal",
        help="distribution fitted to parametric forecasts [normal]",
    )
    p.add_argument(
        "--cycle-days",
        type=float,
        default=7.0,
        help="default lot size of continuous-review rows, in days of mean demand [7]",
    )
    p.add_argument(
        "--rejected",
        help="inspection counts per SKU (`stockcast inspect rejected`): rejected units leave "
        "on_hand before planning",
    )
    p.add_argument(
        "--hold-review",
        action="store_true",
        help="with --rejected: units waiting for review are not sellable either",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the lead-time draws [0]")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Read the tables, plan, write the plan atomically; print a one-line summary."""
    from kernels.tables import Policy, plan, read_table, write_table

    if not str(args.out).lower().endswith((".parquet", ".pq", ".csv")):
        raise CliError(f"--out: {args.out}: use a .parquet or .csv file name")
    policy = Policy(
        service_level=args.service_level,
        service_type=args.service_type,
        segment_service_levels=args.segment_levels,
        shape=args.shape,
        default_cycle_days=args.cycle_days,
        seed=args.seed,
    )
    forecast = read_table(args.forecast)
    inventory = read_table(args.inventory)
    lead_times = read_table(args.lead_times) if args.lead_times else None
    if args.hold_review and not args.rejected:
        raise CliError("--hold-review needs --rejected")
    rejected = read_table(args.rejected) if args.rejected else None
    result = plan(
        forecast,
        inventory,
        policy,
        lead_times=lead_times,
        rejected=rejected,
        hold_review=args.hold_review,
    )
    write_table(result, args.out)
    ordering = int((result["order_qty"] > 0).sum())
    print(
        f"planned {len(result)} item-locations, {ordering} with an order "
        f"({result['order_qty'].sum():.0f} units) -> {args.out}"
    )
    return 0
